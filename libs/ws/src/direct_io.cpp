#include "direct_io.hpp"

#include <covet/net/detail/error.hpp>
#include <covet/net/runtime.hpp>

#include <asio/error.hpp>
#include <asio/version.hpp>

#include <sys/socket.h>
#include <cerrno>

// The readiness switch lives in Asio's epoll reactor internals, whose layout
// was checked for Asio 1.22 (Debian 12); elsewhere input_watch does nothing.
#if defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT) && ASIO_VERSION >= 102200 && \
    ASIO_VERSION < 102300
#define COVET_WS_INPUT_WATCH 1
#include <asio/detail/epoll_reactor.hpp>
#else
#define COVET_WS_INPUT_WATCH 0
#endif

namespace covet::ws::detail {

#if COVET_WS_AWAIT_RECEIVE

namespace {

// Holds the coroutine's awaitable thread while the receive is pending.
struct thread_owner : await_receive::thread {
    explicit thread_owner(await_receive::thread&& from) : await_receive::thread(std::move(from)) {}
    using await_receive::thread::pump;
};

// The operation's handler: stores the outcome and resumes the suspended
// frame (as use_awaitable's handler, without a frame of its own). Its
// cancellation slot is the coroutine's, so cancelling the task or stopping
// the runtime aborts the receive.
class receive_resumer {
public:
    using cancellation_slot_type = asio::cancellation_slot;

    receive_resumer(await_receive::frame* suspended, await_receive::thread&& running,
                    receive_outcome& outcome)
        : owner_(std::move(running)), frame_(suspended), outcome_(&outcome)
    {
    }

    cancellation_slot_type get_cancellation_slot() const noexcept { return owner_.get_cancellation_slot(); }

    void operator()(const std::error_code& error, std::size_t bytes)
    {
        frame_->attach_thread(&owner_);
        outcome_->error = error;
        outcome_->bytes = bytes;
        frame_->clear_cancellation_slot();
        owner_.pump();  // resumes the suspended frame
    }

protected:
    thread_owner owner_;

private:
    await_receive::frame* frame_;
    receive_outcome* outcome_;
};

// When the coroutine runs on another executor than the socket (a strand),
// its completion must go through that executor: this one names it.
class receive_resumer_on_executor : public receive_resumer {
public:
    using receive_resumer::receive_resumer;
    using executor_type = asio::any_io_executor;
    executor_type get_executor() const noexcept { return owner_.get_executor(); }
};

// The socket's executor by reference (basic_socket::get_executor() copies it).
struct socket_executor : asio::ip::tcp::socket {
    static const asio::any_io_executor& of(asio::ip::tcp::socket& socket) noexcept
    {
        return (socket.*(&socket_executor::impl_)).get_executor();
    }
};

}  // namespace

await_receive::thread* await_receive::operator()(frame* suspended) const
{
    thread& running = *suspended->detach_thread();
    if (running.get_executor() == socket_executor::of(socket)) {
        // The usual case (a covet::net::runtime task reading its own socket):
        // without an executor of its own the handler is called directly by
        // the socket's io_context, with no executor bookkeeping per receive.
        socket.async_read_some(buffer, receive_resumer(suspended, std::move(running), outcome));
    } else {
        socket.async_read_some(buffer, receive_resumer_on_executor(suspended, std::move(running), outcome));
    }
    return nullptr;
}

#endif

#if COVET_WS_INPUT_WATCH

namespace {

std::error_code last_error() noexcept
{
    return net::detail::normalize_error(std::error_code(errno, std::system_category()));
}

bool would_block(int error) noexcept
{
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

using asio::detail::epoll_reactor;
using descriptor_state = epoll_reactor::descriptor_state;
using switches = bool (descriptor_state::*)[epoll_reactor::max_ops];

// The reactor's per-socket "try first" switches are private: an explicit
// instantiation may name them, and hands them out through this friend.
switches try_first_switches() noexcept;

template <switches Member>
struct expose_try_first {
    friend switches try_first_switches() noexcept { return Member; }
};

template struct expose_try_first<&descriptor_state::try_speculative_>;

// The socket's implementation (protected in basic_socket).
struct socket_access : asio::ip::tcp::socket {
    static descriptor_state* state(asio::ip::tcp::socket& socket) noexcept
    {
        return (socket.*(&socket_access::impl_)).get_implementation().reactor_data_;
    }
};

bool* read_switch(asio::ip::tcp::socket& socket) noexcept
{
    descriptor_state* state = socket_access::state(socket);
    if (state == nullptr) {
        return nullptr;  // closed
    }
    return &(state->*try_first_switches())[epoll_reactor::read_op];
}

}  // namespace

bool input_watch::usable(asio::ip::tcp::socket& socket) noexcept
{
    net::runtime* rt = net::runtime::current();
    if (rt == nullptr) {
        return false;
    }
    const asio::any_io_executor any = socket.get_executor();
    const auto* executor = any.target<asio::io_context::executor_type>();
    return executor != nullptr && &executor->context() == &rt->context(net::runtime::current_worker());
}

bool input_watch::would_try_first(asio::ip::tcp::socket& socket) noexcept
{
    bool* on = read_switch(socket);
    return on == nullptr || *on;
}

result<std::size_t> input_watch::try_receive(asio::ip::tcp::socket& socket,
                                             asio::mutable_buffer buffer) noexcept
{
    const ssize_t got = ::recv(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got > 0) {
        received(socket, static_cast<std::size_t>(got), buffer.size());
        return static_cast<std::size_t>(got);
    }
    if (got == 0) {
        return net::detail::normalize_error(asio::error::eof);
    }
    if (would_block(errno)) {
        if (errno != EINTR) {
            received(socket, 0, buffer.size());
        }
        return std::size_t{0};
    }
    return last_error();
}

void input_watch::received(asio::ip::tcp::socket& socket, std::size_t got, std::size_t capacity) noexcept
{
    if (got < capacity) {
        if (bool* on = read_switch(socket)) {
            *on = false;
        }
    }
}

#else

bool input_watch::usable(asio::ip::tcp::socket&) noexcept
{
    return false;
}

bool input_watch::would_try_first(asio::ip::tcp::socket&) noexcept
{
    return true;
}

result<std::size_t> input_watch::try_receive(asio::ip::tcp::socket&, asio::mutable_buffer) noexcept
{
    return std::size_t{0};
}

void input_watch::received(asio::ip::tcp::socket&, std::size_t, std::size_t) noexcept {}

#endif

}  // namespace covet::ws::detail
