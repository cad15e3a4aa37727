// covet_ws_load: the closed-loop load generator of the WebSocket benchmark
// (bench/ws/run.sh). One thread, raw non-blocking sockets and epoll, so that it
// costs far less per message than any server it drives (the same binary drives
// every server): every connection writes pre-built, pre-masked frames from one
// buffer and checks each echo against the payload while it streams in, without
// copying it.
//   covet_ws_load URL --connections 64 --size 32 --warmup 1 --duration 5
//                     [--inflight 1] [--server-pid PID]
//       each connection keeps `inflight` binary messages of `size` bytes in
//       flight; every echo is checked; prints one JSON line
//       {"msgs_per_s":..., "errors":..., "server_cpu_us_per_msg":...}; the server's
//       CPU time (utime + stime of /proc/PID/stat over the measured interval) is
//       given when --server-pid is. `--messages N` ends the run once N echoes
//       arrived in all (warm-up included; for instruction counts under callgrind).
//   covet_ws_load URL --idle 10000 --hold 5
//       opens N idle connections, prints "held N", keeps them for `hold` seconds
//
// The mask of every frame a connection sends is the same random key chosen at
// connect time: fine for a load generator talking to localhost (RFC 6455
// 10.3's concern is proxies), and it lets the frames be built once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct target {
    std::string host = "127.0.0.1";
    std::uint16_t port = 80;
    std::string path = "/";
};

bool parse_url(std::string_view url, target& out)
{
    constexpr std::string_view scheme = "ws://";
    if (url.substr(0, scheme.size()) != scheme) {
        return false;
    }
    url.remove_prefix(scheme.size());
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    out.host = std::string(authority.substr(0, colon));
    out.port = static_cast<std::uint16_t>(std::atoi(std::string(authority.substr(colon + 1)).c_str()));
    return true;
}

// A blocking connect and opening handshake; the socket is returned non-blocking. -1 on failure.
int open_websocket(const target& t)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(t.port);
    ::inet_pton(AF_INET, t.host.c_str(), &address.sin_addr);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    const std::string request =
        "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        ::close(fd);
        return -1;
    }
    // Read the response byte-exactly up to its end, so no frame byte is consumed here.
    std::string response;
    char c = 0;
    while (response.size() < 4096 && response.find("\r\n\r\n") == std::string::npos) {
        if (::recv(fd, &c, 1, 0) != 1) {
            ::close(fd);
            return -1;
        }
        response.push_back(c);
    }
    if (response.compare(0, 12, "HTTP/1.1 101") != 0) {
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

std::size_t write_frame_header(std::uint8_t* out, std::size_t length, const std::uint8_t mask[4])
{
    std::size_t n = 0;
    out[n++] = 0x82;  // FIN, binary
    if (length < 126) {
        out[n++] = static_cast<std::uint8_t>(0x80 | length);
    } else if (length <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = static_cast<std::uint8_t>(length >> 8);
        out[n++] = static_cast<std::uint8_t>(length);
    } else {
        out[n++] = 0x80 | 127;
        for (int shift = 56; shift >= 0; shift -= 8) {
            out[n++] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(length) >> shift);
        }
    }
    std::memcpy(out + n, mask, 4);
    return n + 4;
}

struct connection {
    int fd = -1;
    std::vector<std::uint8_t> frames;  // inflight + 1 copies of the masked frame, back to back
    std::size_t frame_size = 0;
    std::size_t write_pos = 0;      // offset into the first copy of the frame
    std::size_t pending_write = 0;  // bytes still to write
    bool waiting_writable = false;
    // Reading echoes: a partial header, then the payload position being checked.
    std::uint8_t header[10]{};
    std::size_t header_have = 0;
    std::size_t payload_left = 0;
    std::size_t payload_pos = 0;
    bool in_payload = false;  // reading a frame's payload
    bool in_message = false;  // between the first and the last frame of an echo
    bool last_fragment = false;
    bool failed = false;
};

struct load {
    std::string payload;
    std::uint64_t echoed = 0;
    std::uint64_t errors = 0;
    int epoll = -1;
};

void set_writable_interest(load& l, connection& c, std::size_t index, bool want)
{
    if (c.waiting_writable == want) {
        return;
    }
    c.waiting_writable = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = index;
    ::epoll_ctl(l.epoll, EPOLL_CTL_MOD, c.fd, &ev);
}

void fail(load& l, connection& c)
{
    if (!c.failed) {
        c.failed = true;
        ++l.errors;
        ::epoll_ctl(l.epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    }
}

void flush(load& l, connection& c, std::size_t index)
{
    while (c.pending_write > 0) {
        const std::size_t chunk = std::min(c.pending_write, c.frames.size() - c.write_pos);
        const ssize_t n = ::send(c.fd, c.frames.data() + c.write_pos, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_writable_interest(l, c, index, true);
                return;
            }
            fail(l, c);
            return;
        }
        c.pending_write -= static_cast<std::size_t>(n);
        c.write_pos = (c.write_pos + static_cast<std::size_t>(n)) % c.frame_size;
    }
    set_writable_interest(l, c, index, false);
}

// Checks the echoed bytes in `data`; returns how many whole echoes they completed.
std::size_t consume(load& l, connection& c, const std::uint8_t* data, std::size_t size)
{
    std::size_t completed = 0;
    const std::size_t expected = l.payload.size();
    while (size > 0 || (c.in_payload && c.payload_left == 0)) {  // an empty frame ends without bytes
        if (!c.in_payload) {
            c.header[c.header_have++] = *data++;
            --size;
            if (c.header_have < 2) {
                continue;
            }
            const std::uint8_t length7 = c.header[1] & 0x7f;
            const std::size_t need = length7 < 126 ? 2 : (length7 == 126 ? 4 : 10);
            if (c.header_have < need) {
                continue;
            }
            std::uint64_t length = length7;
            if (length7 == 126) {
                length = (std::uint64_t{c.header[2]} << 8) | c.header[3];
            } else if (length7 == 127) {
                length = 0;
                for (int i = 2; i < 10; ++i) {
                    length = (length << 8) | c.header[i];
                }
            }
            c.header_have = 0;
            // A binary frame starts the echo, continuations go on with it (some
            // servers fragment large messages); the fragments add up to the payload.
            const std::uint8_t opcode = c.header[0] & 0x0f;
            const bool first = c.payload_pos == 0 && !c.in_message;
            c.last_fragment = (c.header[0] & 0x80) != 0;
            if ((c.header[0] & 0x70) != 0 || opcode != (first ? 0x2 : 0x0) || (c.header[1] & 0x80) != 0 ||
                length > expected - c.payload_pos ||
                (c.last_fragment && length != expected - c.payload_pos)) {
                fail(l, c);
                return completed;
            }
            c.in_message = true;
            c.in_payload = true;
            c.payload_left = static_cast<std::size_t>(length);
        }
        const std::size_t n = std::min(size, c.payload_left);
        if (std::memcmp(data, l.payload.data() + c.payload_pos, n) != 0) {
            fail(l, c);
            return completed;
        }
        data += n;
        size -= n;
        c.payload_pos += n;
        c.payload_left -= n;
        if (c.payload_left == 0) {
            c.in_payload = false;
            if (c.last_fragment) {
                c.in_message = false;
                c.payload_pos = 0;
                ++completed;
            }
        }
    }
    return completed;
}

long long server_cpu_ticks(int pid)
{
    if (pid <= 0) {
        return 0;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) {
        return 0;
    }
    std::string rest = line.substr(close_paren + 2);
    long long utime = 0;
    long long stime = 0;
    char* p = rest.data();
    for (int field = 3; field <= 15 && *p != '\0'; ++field) {
        char* end = nullptr;
        if (field == 14) {
            utime = std::strtoll(p, &end, 10);
        } else if (field == 15) {
            stime = std::strtoll(p, &end, 10);
        }
        p = std::strchr(p, ' ');
        if (p == nullptr) {
            break;
        }
        ++p;
    }
    return utime + stime;
}

double own_cpu_seconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int throughput(const target& t, int connections, std::size_t size, int inflight, double warmup,
               double duration, int server_pid, std::uint64_t messages)
{
    load l;
    l.payload.resize(size);
    for (std::size_t i = 0; i < size; ++i) {
        l.payload[i] = static_cast<char>(i * 31 + 7);
    }
    l.epoll = ::epoll_create1(0);
    std::mt19937 random{std::random_device{}()};
    std::vector<connection> conns(static_cast<std::size_t>(connections));
    for (std::size_t i = 0; i < conns.size(); ++i) {
        connection& c = conns[i];
        c.fd = open_websocket(t);
        if (c.fd < 0) {
            std::fprintf(stderr, "covet_ws_load: connection %zu failed\n", i);
            return 1;
        }
        std::uint8_t mask[4];
        const std::uint32_t key = random();
        std::memcpy(mask, &key, 4);
        std::uint8_t head[14];
        const std::size_t head_size = write_frame_header(head, size, mask);
        c.frame_size = head_size + size;
        c.frames.resize(c.frame_size * static_cast<std::size_t>(inflight + 1));
        for (int copy = 0; copy <= inflight; ++copy) {
            std::uint8_t* frame = c.frames.data() + static_cast<std::size_t>(copy) * c.frame_size;
            std::memcpy(frame, head, head_size);
            for (std::size_t b = 0; b < size; ++b) {
                frame[head_size + b] = static_cast<std::uint8_t>(l.payload[b]) ^ mask[b % 4];
            }
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(l.epoll, EPOLL_CTL_ADD, c.fd, &ev);
    }
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].pending_write = conns[i].frame_size * static_cast<std::size_t>(inflight);
        flush(l, conns[i], i);
    }

    std::vector<std::uint8_t> buffer(256 * 1024);
    std::vector<epoll_event> events(static_cast<std::size_t>(connections));
    const auto start = clock_type::now();
    const auto measure_from = start + std::chrono::duration<double>(warmup);
    const auto measure_to = measure_from + std::chrono::duration<double>(duration);
    bool measuring = false;
    std::uint64_t echoed_at_start = 0;
    long long ticks_at_start = 0;
    double own_cpu_at_start = 0;
    clock_type::time_point started{};
    for (;;) {
        const auto now = clock_type::now();
        if (!measuring && now >= measure_from) {
            measuring = true;
            started = now;
            echoed_at_start = l.echoed;
            ticks_at_start = server_cpu_ticks(server_pid);
            own_cpu_at_start = own_cpu_seconds();
        }
        if (now >= measure_to || (messages > 0 && l.echoed >= messages)) {
            break;
        }
        const int ready = ::epoll_wait(l.epoll, events.data(), static_cast<int>(events.size()), 10);
        for (int e = 0; e < ready; ++e) {
            const std::size_t index = events[static_cast<std::size_t>(e)].data.u64;
            connection& c = conns[index];
            if (c.failed) {
                continue;
            }
            if ((events[static_cast<std::size_t>(e)].events & EPOLLOUT) != 0) {
                flush(l, c, index);
            }
            if ((events[static_cast<std::size_t>(e)].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) {
                continue;
            }
            const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    continue;
                }
                fail(l, c);
                continue;
            }
            const std::size_t completed = consume(l, c, buffer.data(), static_cast<std::size_t>(n));
            if (c.failed) {
                continue;
            }
            l.echoed += completed;
            if (completed > 0) {
                c.pending_write += completed * c.frame_size;
                if (!c.waiting_writable) {
                    flush(l, c, index);
                }
            }
        }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    const std::uint64_t echoed = l.echoed - echoed_at_start;
    const long long ticks = server_cpu_ticks(server_pid) - ticks_at_start;
    const double own_cpu = own_cpu_seconds() - own_cpu_at_start;
    const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double per_msg = echoed > 0 ? 1e6 / static_cast<double>(echoed) : 0;
    std::printf(
        "{\"msgs_per_s\": %.0f, \"errors\": %llu, \"connections\": %d, \"size\": %zu, \"inflight\": %d, "
        "\"server_cpu_us_per_msg\": %.3f, \"server_cpu_share\": %.2f, \"load_cpu_us_per_msg\": %.3f, "
        "\"echoed_in_all\": %llu}\n",
        static_cast<double>(echoed) / seconds, static_cast<unsigned long long>(l.errors), connections, size,
        inflight, server_pid > 0 && echoed > 0 ? static_cast<double>(ticks) * tick_us / echoed : 0.0,
        server_pid > 0 ? static_cast<double>(ticks) * tick_us / 1e6 / seconds : 0.0, own_cpu * per_msg,
        static_cast<unsigned long long>(l.echoed));
    for (auto& c : conns) {
        ::close(c.fd);
    }
    ::close(l.epoll);
    return 0;
}

int idle(const target& t, int count, double hold)
{
    std::vector<int> fds;
    fds.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        const int fd = open_websocket(t);
        if (fd < 0) {
            std::fprintf(stderr, "covet_ws_load: idle connection %d failed: %s\n", i, std::strerror(errno));
            break;
        }
        fds.push_back(fd);
    }
    std::printf("held %zu\n", fds.size());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(hold));
    for (int fd : fds) {
        ::close(fd);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    target t;
    if (argc < 2 || !parse_url(argv[1], t)) {
        std::fprintf(
            stderr,
            "usage: covet_ws_load ws://HOST:PORT/PATH [--connections N --size B --warmup S --duration S "
            "--inflight K --server-pid PID --messages N] | [--idle N --hold S]\n");
        return 2;
    }
    int connections = 64;
    std::size_t size = 32;
    double warmup = 1;
    double duration = 5;
    int inflight = 1;
    int server_pid = 0;
    std::uint64_t messages = 0;
    int idle_count = 0;
    double hold = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const char* value = argv[i + 1];
        if (arg == "--connections") {
            connections = std::max(1, std::atoi(value));
        } else if (arg == "--size") {
            size = static_cast<std::size_t>(std::atoll(value));
        } else if (arg == "--warmup") {
            warmup = std::atof(value);
        } else if (arg == "--duration") {
            duration = std::atof(value);
        } else if (arg == "--inflight") {
            inflight = std::max(1, std::atoi(value));
        } else if (arg == "--server-pid") {
            server_pid = std::atoi(value);
        } else if (arg == "--messages") {
            messages = static_cast<std::uint64_t>(std::atoll(value));
        } else if (arg == "--idle") {
            idle_count = std::atoi(value);
        } else if (arg == "--hold") {
            hold = std::atof(value);
        }
    }
    if (idle_count > 0) {
        return idle(t, idle_count, hold);
    }
    return throughput(t, connections, size, inflight, warmup, duration, server_pid, messages);
}
