#pragma once
// LISTEN/NOTIFY on a dedicated connection, as a coroutine stream:
//
//   auto l = co_await covet::postgres::listener::connect(url);
//   co_await l.listen("orders");
//   while (auto n = co_await l.next(30s)) {       // std::nullopt: timed out / cancelled / closed
//       if (n->reconnected) { resync(); continue; }   // the connection was lost and restored
//       handle(n->channel, n->payload, n->sender_pid);
//   }
//
//   co_await covet::postgres::notify(db, "orders", R"({"id": 7})");   // pg_notify($1, $2)
//
// One pump coroutine per listener reads the socket; next(), listen() and
// unlisten() only wait for it, so they may be called from different coroutines
// of the listener's thread. When the server goes away the pump reconnects
// (backoff 50 ms .. 2 s, until closed), re-issues LISTEN for every channel and
// then queues an event with `reconnected = true`: notifications sent while the
// connection was down are lost, so the application should resync its state.
// Channel names are sent as quoted identifiers (case-sensitive, exactly the
// string pg_notify() takes), never spliced as SQL.

#include <covet/net/task.hpp>
#include <covet/orm/driver.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace covet::postgres {

struct notification {
    std::string channel;
    std::string payload;
    int sender_pid = 0;  ///< backend process id of the notifying session
    /// Not a notification: the connection was lost and restored (LISTEN
    /// re-issued for every channel); notifications in between are lost.
    bool reconnected = false;
};

struct listener_options {
    orm::connect_options connect{};
    /// The longest wait between two reconnection attempts.
    std::chrono::milliseconds max_backoff{2'000};
};

class listener {
public:
    /// Connects (a connection of its own, outside any pool). Throws
    /// orm::error(connection_lost or timeout) when the first connect fails.
    static task<listener> connect(std::string url, listener_options options = {});

    listener(listener&&) noexcept;
    listener& operator=(listener&&) noexcept;
    ~listener();

    /// LISTEN on `channel` (1..63 bytes, no NUL; case-sensitive). Returns once
    /// the server confirmed it. Throws orm::error(invalid_argument) for a bad
    /// name, orm::error from the server, or connection_lost once closed.
    task<void> listen(std::string_view channel);
    /// UNLISTEN `channel` (no-op for a channel not listened to).
    task<void> unlisten(std::string_view channel);
    /// UNLISTEN *.
    task<void> unlisten_all();

    /// The next notification (or reconnect event), waiting at most `timeout`.
    /// std::nullopt when the wait timed out, was cancelled (Asio cancellation,
    /// e.g. covet::net::with_timeout) or the listener was closed.
    task<std::optional<notification>> next(
        std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    /// The channels listened to, sorted.
    std::vector<std::string> channels() const;
    /// How many times the connection was restored.
    std::uint64_t reconnects() const noexcept;
    /// Stops the pump, closes the connection and wakes a waiting next().
    void close() noexcept;

    struct state;

private:
    explicit listener(std::shared_ptr<state> s) noexcept;
    std::shared_ptr<state> state_;
};

/// `channel` as a quoted SQL identifier ("a""b"). Throws orm::error
/// (invalid_argument) when it is empty, longer than 63 bytes or contains NUL.
std::string quote_channel(std::string_view channel);

/// NOTIFY through any covet::orm executor (database or transaction; in a
/// transaction it is delivered at commit). Channel and payload are bound
/// parameters of pg_notify($1, $2), never SQL text.
template <class Executor>
task<void> notify(Executor& db, std::string_view channel, std::string_view payload)
{
    co_await db.execute("SELECT pg_notify($1, $2)", channel, payload);
}

}  // namespace covet::postgres
