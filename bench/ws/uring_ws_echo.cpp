// uring_ws_echo: the io_uring floor of the WebSocket echo benchmark
// (bench/ws/run.sh --servers uring; the epoll one is epoll_ws_echo.cpp): the
// same frames-only echo (frame_echo.hpp), but with the fewest system calls
// this kernel allows. One thread and one ring (IORING_SETUP_SINGLE_ISSUER with
// DEFER_TASKRUN, or COOP_TASKRUN with --coop); a multishot accept; per
// connection one multishot receive that picks its buffers from a provided-
// buffer ring; every echo a send queued while the completions are handled;
// and one io_uring_enter per loop (io_uring_submit_and_wait) that submits all
// those sends and waits for the next completions. Every socket is a registered
// file (slot = its fd) so requests skip the file table (--no-fixed-files: not).
// --wait N waits for N completions (or 100 µs) instead of one: fewer wake-ups,
// but it measured slower (docs/benchmarks.md), so it is off by default.
//
// No SQPOLL on purpose: its kernel thread would submit for us on another core,
// so the per-process CPU measure (/proc/PID/stat, what bench/ws measures) would
// either miss its CPU or need a second core; that is not a fair floor.
// Not a WebSocket server, a floor for one.
//   covet_ws_uring_ceiling [--port P] [--coop] [--no-fixed-files] [--wait N]
//       prints "port N", serves until killed
#include "frame_echo.hpp"
#include "port_option.hpp"

#include <liburing.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr unsigned buffer_count = 256;  // a power of two (the buffer ring's mask)
constexpr unsigned buffer_size = 16 * 1024;
constexpr std::uint64_t operation_bits = 3;
constexpr long wait_timeout_ns = 100'000;  // how long --wait N waits for its N completions
enum operation : std::uint64_t { accept_op = 0, recv_op = 1, send_op = 2 };

struct connection {
    int fd = -1;
    bool fixed = false;    // registered in slot `fd`
    bool closing = false;  // no more echoes; shut down once the send in flight is done
    bool shut = false;     // shutdown() called: the receive ends, then the connection goes
    int pending = 0;       // requests in the kernel that name this connection
    frame_echo echo;       // its `out`: echoes waiting for the send in flight
    std::string sending;   // the send in flight (stable memory until it completes)
    std::size_t sent = 0;  // of `sending`, taken by the socket already
};

bool has_flag(int argc, char** argv, std::string_view flag)
{
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == flag) {
            return true;
        }
    }
    return false;
}

class server {
public:
    server(int listener, bool coop, bool fixed_files, unsigned wait_for)
        : listener_(listener), fixed_files_(fixed_files), wait_for_(wait_for)
    {
        io_uring_params params{};
        params.flags =
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE |
            (coop ? IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG : IORING_SETUP_DEFER_TASKRUN);
        params.cq_entries = 8192;
        if (const int error = io_uring_queue_init_params(512, &ring_, &params); error < 0) {
            fail("io_uring_queue_init_params", error);
        }
        io_uring_register_ring_fd(&ring_);  // io_uring_enter skips the ring's file lookup
        if (fixed_files_) {
            // The table's size counts against RLIMIT_NOFILE.
            rlimit limit{};
            getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = limit.rlim_max;
            setrlimit(RLIMIT_NOFILE, &limit);
            fixed_file_slots_ = static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur / 2, 65536));
            if (const int error = io_uring_register_files_sparse(&ring_, fixed_file_slots_); error < 0) {
                fail("io_uring_register_files_sparse", error);
            }
        }
        setup_buffers();
        arm_accept();
    }

    [[noreturn]] void run()
    {
        for (;;) {
            int submitted = 0;
            if (wait_for_ > 1) {
                // With DEFER_TASKRUN the kernel wakes us only once wait_for_ completions are
                // ready (or the timeout passes): fewer sleeps and wake-ups per message.
                __kernel_timespec timeout{};
                timeout.tv_nsec = wait_timeout_ns;
                io_uring_cqe* first = nullptr;
                submitted = io_uring_submit_and_wait_timeout(&ring_, &first, wait_for_, &timeout, nullptr);
                if (submitted == -ETIME) {
                    submitted = 0;
                }
            } else {
                submitted = io_uring_submit_and_wait(&ring_, 1);
            }
            if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY) {
                fail("io_uring_submit_and_wait", submitted);
            }
            unsigned head = 0;
            unsigned seen = 0;
            io_uring_cqe* cqe = nullptr;
            io_uring_for_each_cqe(&ring_, head, cqe)
            {
                complete(cqe->user_data, cqe->res, cqe->flags);
                ++seen;
            }
            io_uring_cq_advance(&ring_, seen);
            if (returned_ > 0) {
                io_uring_buf_ring_advance(buffers_, static_cast<int>(returned_));
                returned_ = 0;
            }
        }
    }

private:
    [[noreturn]] static void fail(const char* what, int error)
    {
        std::fprintf(stderr, "covet_ws_uring_ceiling: %s: %s\n", what, std::strerror(-error));
        std::exit(1);
    }

    // liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring: map and register the ring by hand.
    void setup_buffers()
    {
        void* memory = mmap(nullptr, buffer_count * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                            MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (memory == MAP_FAILED) {
            fail("mmap", -errno);
        }
        buffers_ = static_cast<io_uring_buf_ring*>(memory);
        io_uring_buf_ring_init(buffers_);
        io_uring_buf_reg registration{};
        registration.ring_addr = reinterpret_cast<std::uint64_t>(memory);
        registration.ring_entries = buffer_count;
        registration.bgid = 0;
        if (const int error = io_uring_register_buf_ring(&ring_, &registration, 0); error < 0) {
            fail("io_uring_register_buf_ring", error);
        }
        storage_.resize(std::size_t{buffer_count} * buffer_size);
        for (unsigned id = 0; id < buffer_count; ++id) {
            give_back(id);
        }
        io_uring_buf_ring_advance(buffers_, static_cast<int>(returned_));
        returned_ = 0;
    }

    std::uint8_t* buffer(unsigned id) { return storage_.data() + std::size_t{id} * buffer_size; }

    // Queues buffer `id` for the ring again; run() publishes them once per loop.
    void give_back(unsigned id)
    {
        io_uring_buf_ring_add(buffers_, buffer(id), buffer_size, static_cast<unsigned short>(id),
                              io_uring_buf_ring_mask(buffer_count), static_cast<int>(returned_));
        ++returned_;
    }

    io_uring_sqe* next_sqe()
    {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) {  // the submission queue is full: hand it over mid-loop
            io_uring_submit(&ring_);
            sqe = io_uring_get_sqe(&ring_);
        }
        return sqe;
    }

    io_uring_sqe* connection_sqe(connection* c, operation op)
    {
        io_uring_sqe* sqe = next_sqe();
        io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(c) | op);
        if (c->fixed) {
            sqe->flags |= IOSQE_FIXED_FILE;
        }
        ++c->pending;
        return sqe;
    }

    void arm_accept()
    {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_multishot_accept(sqe, listener_, nullptr, nullptr, 0);
        io_uring_sqe_set_data64(sqe, accept_op);
    }

    void arm_recv(connection* c)
    {
        io_uring_sqe* sqe = connection_sqe(c, recv_op);
        io_uring_prep_recv_multishot(sqe, c->fd, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
    }

    void send_rest(connection* c)
    {
        io_uring_sqe* sqe = connection_sqe(c, send_op);
        io_uring_prep_send(sqe, c->fd, c->sending.data() + c->sent, c->sending.size() - c->sent,
                           MSG_NOSIGNAL);
    }

    // Sends what the echo produced unless a send is in flight (it continues with it when done).
    void start_send(connection* c)
    {
        if (!c->sending.empty() || c->echo.out.empty()) {
            return;
        }
        c->sending.swap(c->echo.out);
        c->sent = 0;
        send_rest(c);
    }

    void begin_close(connection* c)
    {
        c->closing = true;
        if (c->sending.empty() && !c->shut) {
            c->shut = true;
            shutdown(c->fd, SHUT_RDWR);  // ends the multishot receive
        }
    }

    void complete(std::uint64_t user_data, int res, unsigned flags)
    {
        const auto op = static_cast<operation>(user_data & operation_bits);
        if (op == accept_op) {
            accepted(res, flags);
            return;
        }
        auto* c = reinterpret_cast<connection*>(user_data & ~operation_bits);
        if (op == recv_op) {
            received(c, res, flags);
        } else {
            sent(c, res);
        }
        if (c->closing && c->pending == 0) {
            if (c->fixed) {
                const int none = -1;
                io_uring_register_files_update(&ring_, static_cast<unsigned>(c->fd), &none, 1);
            }
            close(c->fd);
            delete c;
        }
    }

    void accepted(int fd, unsigned flags)
    {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            arm_accept();
        }
        if (fd < 0) {
            return;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto* c = new connection;
        c->fd = fd;
        if (fixed_files_ && static_cast<unsigned>(fd) < fixed_file_slots_) {
            c->fixed = io_uring_register_files_update(&ring_, static_cast<unsigned>(fd), &fd, 1) == 1;
        }
        arm_recv(c);
    }

    void received(connection* c, int res, unsigned flags)
    {
        const bool more = (flags & IORING_CQE_F_MORE) != 0;
        if (!more) {
            --c->pending;
        }
        if (res > 0) {
            const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
            if (!c->closing) {
                const bool open = c->echo.feed(buffer(id), static_cast<std::size_t>(res));
                start_send(c);  // the echo of a close frame too
                if (!open) {
                    begin_close(c);
                }
            }
            give_back(id);
        } else if (res != -ENOBUFS) {  // end of stream or an error; out of buffers only re-arms
            begin_close(c);
        }
        if (!more && !c->closing) {
            arm_recv(c);
        }
    }

    void sent(connection* c, int res)
    {
        --c->pending;
        if (res < 0) {
            c->sending.clear();
            begin_close(c);
            return;
        }
        c->sent += static_cast<std::size_t>(res);
        if (c->sent < c->sending.size()) {
            send_rest(c);
            return;
        }
        c->sending.clear();
        if (c->closing) {
            begin_close(c);
        } else {
            start_send(c);
        }
    }

    io_uring ring_{};
    io_uring_buf_ring* buffers_ = nullptr;
    std::vector<std::uint8_t> storage_;
    unsigned returned_ = 0;  // buffers given back since the ring's tail last moved
    int listener_;
    bool fixed_files_;
    unsigned fixed_file_slots_ = 0;  // sockets with a smaller fd get the slot of that number
    unsigned wait_for_;              // completions one wait asks for
};

}  // namespace

int main(int argc, char** argv)
{
    const int listener = open_loopback_listener(port_option(argc, argv), "covet_ws_uring_ceiling");
    if (listener < 0) {
        return 1;
    }
    unsigned wait_for = 1;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--wait") {
            wait_for = static_cast<unsigned>(std::max(1, std::atoi(argv[i + 1])));
        }
    }
    server s(listener, has_flag(argc, argv, "--coop"), !has_flag(argc, argv, "--no-fixed-files"), wait_for);
    s.run();
}
