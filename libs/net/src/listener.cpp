#include <covet/net/listener.hpp>
#include <covet/net/timer.hpp>

#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <vector>

namespace covet::net {

struct listener::state {
    runtime* rt = nullptr;
    listen_options options;
    connection_handler handler;
    // acceptors[i] runs on worker i (reuse_port), or a single one on worker 0.
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
    std::vector<stop_registration> stop_hooks;
    asio::ip::tcp::endpoint endpoint;
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<bool> stopped{false};
    std::size_t next_worker = 0;  // round-robin, used on worker 0 only
};

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

result<std::unique_ptr<asio::ip::tcp::acceptor>> open_acceptor(asio::io_context& context,
                                                               const asio::ip::tcp::endpoint& endpoint,
                                                               const listen_options& options)
{
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(context);
    std::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec && options.reuse_port) {
        acceptor->set_option(reuse_port(true), ec);
    }
    if (!ec && endpoint.address().is_v6()) {
        acceptor->set_option(asio::ip::v6_only(options.v6_only), ec);
    }
    if (!ec) {
        acceptor->bind(endpoint, ec);
    }
    if (!ec) {
        acceptor->listen(options.backlog, ec);
    }
    if (ec) {
        return detail::normalize_error(ec);
    }
    return acceptor;
}

bool is_transient_accept_error(const std::error_code& ec)
{
    // Out of descriptors or memory: back off instead of spinning; the
    // condition clears when connections close.
    return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
           ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

task<void> serve_connection(std::shared_ptr<listener::state> s, tcp_stream stream)
{
    // The listener state (and so the handler object a coroutine lambda may
    // live in) stays alive as long as any of its connections.
    co_await s->handler(std::move(stream));
}

task<void> accept_loop(std::shared_ptr<listener::state> s, std::size_t acceptor_index)
{
    asio::ip::tcp::acceptor& acceptor = *s->acceptors[acceptor_index];
    runtime& rt = *s->rt;
    const bool hand_off = !s->options.reuse_port;
    for (;;) {
        std::size_t target = runtime::current_worker();
        if (hand_off) {
            target = s->next_worker++ % rt.size();
        }
        auto [ec, socket] = co_await acceptor.async_accept(rt.context(target), nothrow);
        if (ec) {
            if (!acceptor.is_open() || ec == asio::error::operation_aborted) {
                co_return;
            }
            if (is_transient_accept_error(ec)) {
                co_await sleep_for(std::chrono::milliseconds(20));
            }
            continue;  // e.g. ECONNABORTED: the client gave up before accept
        }
        if (s->options.no_delay) {
            std::error_code ignored;
            socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        }
        s->accepted.fetch_add(1, std::memory_order_relaxed);
        tcp_stream stream(std::move(socket));
        stream.set_timeouts(s->options.timeouts);
        rt.spawn(target, serve_connection(s, std::move(stream)));
    }
}

void close_acceptor(asio::ip::tcp::acceptor& acceptor)
{
    std::error_code ignored;
    acceptor.close(ignored);
}

}  // namespace

result<listener> listener::start(runtime& rt, listen_options options, connection_handler handler)
{
    if (!handler) {
        return errc::invalid_argument;
    }
    std::error_code ec;
    const auto address = asio::ip::make_address(options.address, ec);
    if (ec) {
        return detail::normalize_error(ec);
    }
    auto s = std::make_shared<state>();
    s->rt = &rt;
    s->options = std::move(options);
    s->handler = std::move(handler);
    asio::ip::tcp::endpoint endpoint(address, s->options.port);

    const std::size_t count = s->options.reuse_port ? rt.size() : 1;
    for (std::size_t i = 0; i < count; ++i) {
        auto acceptor = open_acceptor(rt.context(i), endpoint, s->options);
        if (!acceptor) {
            return acceptor.error();
        }
        if (i == 0) {
            // With port 0 the others must join the port the first one got.
            endpoint = (*acceptor)->local_endpoint(ec);
            if (ec) {
                return detail::normalize_error(ec);
            }
        }
        s->acceptors.push_back(std::move(*acceptor));
    }
    s->endpoint = endpoint;

    for (std::size_t i = 0; i < count; ++i) {
        auto* acceptor = s->acceptors[i].get();
        s->stop_hooks.push_back(rt.on_stop(i, [acceptor] { close_acceptor(*acceptor); }));
        rt.spawn(i, accept_loop(s, i));
    }
    return listener(std::move(s));
}

std::uint16_t listener::port() const noexcept
{
    return state_->endpoint.port();
}

asio::ip::tcp::endpoint listener::local_endpoint() const
{
    return state_->endpoint;
}

std::uint64_t listener::accepted() const noexcept
{
    return state_->accepted.load(std::memory_order_relaxed);
}

void listener::stop()
{
    if (state_->stopped.exchange(true)) {
        return;
    }
    for (std::size_t i = 0; i < state_->acceptors.size(); ++i) {
        auto* acceptor = state_->acceptors[i].get();
        // Close on the acceptor's own thread: Asio objects are not thread-safe.
        asio::post(state_->rt->context(i), [keep = state_, acceptor] { close_acceptor(*acceptor); });
    }
}

}  // namespace covet::net
