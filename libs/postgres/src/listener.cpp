// LISTEN/NOTIFY: one connection (not pipelined: LISTEN goes as a simple
// query) and one pump coroutine that owns every read of its socket. Commands
// (LISTEN/UNLISTEN) are queued and sent one at a time, as libpq requires
// outside pipeline mode; the pump completes them in order and moves arriving
// notifications to the inbox, waking next(). On connection loss the unfinished
// commands stay queued and are sent again after the reconnect, behind a LISTEN
// for every channel, whose completion queues the `reconnected` event.
#include <covet/net/task.hpp>
#include <covet/orm/error.hpp>
#include <covet/postgres/listener.hpp>

#include "connect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <set>

namespace covet::postgres {

using orm::errc;
using orm::error;

namespace {

// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes.
constexpr std::size_t max_identifier = 63;

struct command {
    command(const asio::any_io_executor& ex, std::string text, bool is_resync)
        : sql(std::move(text)), resync(is_resync), wake(ex, asio::steady_timer::time_point::max())
    {
    }
    std::string sql;
    bool resync;  // the LISTEN-everything after a reconnect: nobody waits for it
    bool sent = false;
    bool done = false;
    std::exception_ptr failure;
    asio::steady_timer wake;
};

}  // namespace

std::string quote_channel(std::string_view channel)
{
    if (channel.empty() || channel.size() > max_identifier || channel.find('\0') != std::string_view::npos) {
        throw error(errc::invalid_argument, "42602",
                    "a channel name is 1 to 63 bytes without NUL: \"" + std::string(channel) + "\"");
    }
    std::string quoted = "\"";
    for (const char ch : channel) {
        if (ch == '"') {
            quoted += '"';
        }
        quoted += ch;
    }
    quoted += '"';
    return quoted;
}

struct listener::state : std::enable_shared_from_this<listener::state> {
    state(const asio::any_io_executor& executor, orm::url u, listener_options o)
        : ex(executor), url(std::move(u)), options(o), backoff(executor)
    {
    }
    ~state() { drop_connection(); }
    state(const state&) = delete;
    state& operator=(const state&) = delete;

    void attach(detail::pgconn_ptr c)
    {
        conn = std::move(c);
        socket.emplace(ex, PQsocket(conn.get()));
    }

    void drop_connection() noexcept
    {
        if (socket) {
            asio::error_code ignored;
            socket->cancel(ignored);
            (void)socket->release();  // libpq owns the descriptor
            socket.reset();
        }
        conn.reset();
    }

    // Sends the front command if nothing is in flight; false when the connection broke.
    bool send_next()
    {
        if (!conn || commands.empty() || commands.front()->sent) {
            return true;
        }
        auto& c = *commands.front();
        c.sent = true;
        if (c.sql.empty()) {
            return true;  // nothing to send (a resync without channels): completed by the pump
        }
        return PQsendQuery(conn.get(), c.sql.c_str()) == 1;
    }

    // After queueing a command: send it now, and make the pump wait for
    // writability if libpq could not flush everything.
    void push(std::shared_ptr<command> c)
    {
        commands.push_back(std::move(c));
        if (!conn) {
            return;  // reconnecting: sent after the resync
        }
        if (!send_next() || PQflush(conn.get()) != 0) {
            kicked = true;  // the pump sees the state on its next turn
            asio::error_code ignored;
            socket->cancel(ignored);
        }
    }

    void complete_front()
    {
        auto c = std::move(commands.front());
        commands.pop_front();
        c->done = true;
        c->wake.cancel();
        if (c->resync) {
            notification gap;
            gap.reconnected = true;
            inbox.push_back(std::move(gap));
        }
    }

    void wake_waiter()
    {
        if (!inbox.empty() && waiter != nullptr) {
            waiter->cancel();
        }
    }

    // Reads what arrived: command results and notifications. False once the connection broke.
    bool drain()
    {
        if (!PQconsumeInput(conn.get())) {
            return false;
        }
        while (!commands.empty() && commands.front()->sent) {
            auto& c = *commands.front();
            if (c.sql.empty()) {
                complete_front();
            } else if (PQisBusy(conn.get())) {
                break;
            } else if (PGresult* res = PQgetResult(conn.get())) {
                const auto status = PQresultStatus(res);
                if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && !c.failure) {
                    c.failure = std::make_exception_ptr(detail::error_from(res));
                }
                PQclear(res);
            } else {
                complete_front();  // all results are in; the pump sends the next command
            }
        }
        while (PGnotify* n = PQnotifies(conn.get())) {
            notification got;
            got.channel = n->relname;
            got.payload = n->extra;
            got.sender_pid = n->be_pid;
            inbox.push_back(std::move(got));
            PQfreemem(n);
        }
        wake_waiter();
        return PQstatus(conn.get()) == CONNECTION_OK;
    }

    // Connects again (backoff until closed) and queues the resync in front of
    // the commands that were not finished.
    static task<void> reconnect(std::shared_ptr<state> self)
    {
        auto delay = std::chrono::milliseconds(50);
        while (!self->closed) {
            try {
                auto c = co_await detail::open_connection(self->url, self->options.connect);
                if (self->closed) {
                    break;
                }
                self->attach(std::move(c));
                ++self->reconnect_count;
                std::string sql;
                for (const auto& ch : self->channel_set) {
                    sql += "LISTEN " + quote_channel(ch) + ";";
                }
                for (auto& pending : self->commands) {
                    pending->sent = false;
                    pending->failure = nullptr;  // an answer from the lost connection does not count
                }
                self->commands.push_front(std::make_shared<command>(self->ex, std::move(sql), true));
                break;
            } catch (const error&) {
                // the server is not back yet
            }
            self->backoff.expires_after(delay);
            auto [ec] = co_await self->backoff.async_wait(net::nothrow);
            (void)ec;
            delay = std::min(delay * 2, self->options.max_backoff);
        }
    }

    static task<void> pump(std::shared_ptr<state> self)
    {
        while (!self->closed) {
            if (!self->conn) {
                co_await reconnect(self);
                continue;
            }
            bool alive = self->send_next();
            const int flushed = alive ? PQflush(self->conn.get()) : -1;
            alive = flushed >= 0 && self->drain();
            if (alive && !self->commands.empty() && !self->commands.front()->sent) {
                continue;  // the next command goes out before we wait
            }
            if (alive) {
                self->kicked = false;
                const auto what = flushed == 1 ? asio::posix::stream_descriptor::wait_write
                                               : asio::posix::stream_descriptor::wait_read;
                auto [ec] = co_await self->socket->async_wait(what, net::nothrow);
                alive = !ec || (ec == asio::error::operation_aborted && self->kicked);
            }
            if (!alive && !self->closed) {
                // Lost: unfinished commands go again after the resync; a resync in flight is redone.
                self->drop_connection();
                std::erase_if(self->commands, [](const auto& c) { return c->resync; });
            }
        }
        self->drop_connection();
        for (auto& c : self->commands) {
            c->wake.cancel();  // they see !done: the listener was closed
        }
    }

    asio::any_io_executor ex;
    orm::url url;
    listener_options options;
    detail::pgconn_ptr conn;
    std::optional<asio::posix::stream_descriptor> socket;
    asio::steady_timer backoff;
    std::set<std::string, std::less<>> channel_set;
    std::deque<std::shared_ptr<command>> commands;
    std::deque<notification> inbox;
    asio::steady_timer* waiter = nullptr;  // the timer next() waits on
    std::uint64_t reconnect_count = 0;
    bool kicked = false;
    bool closed = false;
};

namespace {

task<void> run_command(std::shared_ptr<listener::state> s, std::string sql)
{
    if (s->closed) {
        throw error(errc::connection_lost, "08003", "the listener is closed");
    }
    auto c = std::make_shared<command>(s->ex, std::move(sql), false);
    s->push(c);
    if (!c->done) {
        auto [ec] = co_await c->wake.async_wait(net::nothrow);
        (void)ec;
    }
    if (!c->done) {
        if (s->closed) {
            throw error(errc::connection_lost, "08003", "the listener was closed");
        }
        throw error(errc::timeout, "57014", "cancelled while waiting for the server");
    }
    if (c->failure) {
        std::rethrow_exception(c->failure);
    }
}

}  // namespace

listener::listener(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&& other) noexcept
{
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}
listener::~listener()
{
    close();
}

task<listener> listener::connect(std::string url, listener_options options)
{
    auto ex = co_await asio::this_coro::executor;
    auto s = std::make_shared<state>(ex, orm::url::parse(url), options);
    auto c = co_await detail::open_connection(s->url, s->options.connect);
    s->attach(std::move(c));
    asio::co_spawn(ex, state::pump(s), asio::detached);
    co_return listener(std::move(s));
}

task<void> listener::listen(std::string_view channel)
{
    std::string sql = "LISTEN " + quote_channel(channel);
    auto s = state_;
    const bool added = s->channel_set.emplace(channel).second;
    try {
        co_await run_command(s, std::move(sql));
    } catch (const error& e) {
        if (added && e.kind() != errc::timeout) {
            s->channel_set.erase(std::string(channel));
        }
        throw;
    }
}

task<void> listener::unlisten(std::string_view channel)
{
    std::string sql = "UNLISTEN " + quote_channel(channel);
    auto s = state_;
    if (auto it = s->channel_set.find(channel); it != s->channel_set.end()) {
        s->channel_set.erase(it);
    }
    co_await run_command(s, std::move(sql));
}

task<void> listener::unlisten_all()
{
    auto s = state_;
    s->channel_set.clear();
    co_await run_command(s, "UNLISTEN *");
}

task<std::optional<notification>> listener::next(std::chrono::milliseconds timeout)
{
    auto s = state_;
    std::optional<notification> out;
    if (s->inbox.empty() && !s->closed) {
        if (s->waiter != nullptr) {
            throw error(errc::invalid_argument, "", "listener::next() is already being awaited");
        }
        asio::steady_timer timer(s->ex, asio::steady_timer::time_point::max());
        if (timeout != std::chrono::milliseconds::max()) {
            timer.expires_after(timeout);
        }
        s->waiter = &timer;
        auto [ec] = co_await timer.async_wait(net::nothrow);
        (void)ec;
        s->waiter = nullptr;
    }
    if (!s->inbox.empty()) {
        out = std::move(s->inbox.front());
        s->inbox.pop_front();
    }
    co_return out;
}

std::vector<std::string> listener::channels() const
{
    return {state_->channel_set.begin(), state_->channel_set.end()};
}

std::uint64_t listener::reconnects() const noexcept
{
    return state_->reconnect_count;
}

void listener::close() noexcept
{
    if (!state_ || state_->closed) {
        return;
    }
    auto& s = *state_;
    s.closed = true;
    asio::error_code ignored;
    if (s.socket) {
        s.socket->cancel(ignored);
    }
    s.backoff.cancel();
    if (s.waiter != nullptr) {
        s.waiter->cancel();
    }
}

}  // namespace covet::postgres
