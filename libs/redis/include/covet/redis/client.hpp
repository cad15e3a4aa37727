#pragma once
// covet::redis::client: a Redis client over covet::net TCP streams with a
// covet::pool of connections, pipelining (a batch of commands in one write,
// their replies read back in order), per-operation timeouts and reconnects.
//
//   redis::client r({.host = "127.0.0.1", .port = 6379});
//   auto v = co_await r.command({"GET", "k"});          // result<value>
//   redis::pipeline p;
//   p.add({"SET", "a", "1"}).add({"INCR", "a"});
//   auto replies = co_await r.execute(std::move(p));     // result<std::vector<value>>
//
// Threads: a client and its pool belong to one thread (one runtime worker, as
// everything in the shared-nothing runtime): make one per worker, e.g. in a
// covet::net::per_thread<redis::client>. Connections are made on the executor
// of the coroutine that first needs them.
//
// Errors: transport failures are the stream's codes (connection refused,
// reset, end_of_stream, covet::errc::timed_out); a reply that is not RESP is
// redis::errc::protocol_error. A Redis error reply (-ERR ...) is a *value*
// of type::error, not a failed result; the cache layer turns it into
// redis::errc::server_error.
//
// Reconnects: a connection that failed is dropped (never reused); the next
// command makes a new one. A batch that fails on a connection which had been
// idle in the pool with a connection error (reset, end of stream, broken
// pipe: the server closed it, e.g. after a restart or its idle timeout) is
// retried once on a new connection.

#include <covet/base/result.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/task.hpp>
#include <covet/pool/pool.hpp>
#include <covet/redis/resp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace covet::redis {

enum class errc {
    /// The server sent bytes that are not RESP (or over a parse limit).
    protocol_error = 1,
    /// The server answered with an error reply (its text is in the message
    /// the cache layer logs; the raw reply is available from client::command).
    server_error,
    /// A reply of an unexpected type for the command.
    unexpected_reply,
};
const std::error_category& redis_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), redis_category()};
}

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    /// AUTH on connect when set (username optional, Redis 6 ACLs).
    std::string username{};
    std::string password{};
    /// SELECT on connect when not 0.
    int database = 0;
    /// HELLO 3 on connect: RESP3 replies (maps, doubles, booleans...).
    bool resp3 = false;
    /// Connections kept per client (the pool's max_size).
    std::size_t pool_size = 4;
    std::chrono::milliseconds connect_timeout{2'000};
    /// Limit of each read and each write of a command batch.
    std::chrono::milliseconds command_timeout{2'000};
    /// How long a command waits for a free connection.
    std::chrono::milliseconds acquire_timeout{2'000};
    /// Idle connections older than this are closed by pool maintenance; 0 = keep.
    std::chrono::milliseconds idle_timeout{0};
};

/// Commands sent together: one write, replies read back in order.
class pipeline {
public:
    pipeline& add(std::initializer_list<std::string_view> args)
    {
        append_command(encoded_, args);
        ++count_;
        return *this;
    }
    pipeline& add(std::span<const std::string_view> args)
    {
        redis::append_command(encoded_, args);
        ++count_;
        return *this;
    }
    pipeline& add(const std::vector<std::string>& args)
    {
        append_command(encoded_, std::span<const std::string>(args));
        ++count_;
        return *this;
    }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const std::string& encoded() const noexcept { return encoded_; }

private:
    std::string encoded_;
    std::size_t count_ = 0;
};

/// One connection: a stream and its read buffer. Used by one batch at a time.
class connection {
public:
    /// Connects and runs AUTH / SELECT / HELLO from `opts`.
    static task<result<connection>> open(options opts);

    /// Writes `encoded` (`count` commands) and reads `count` replies.
    task<result<std::vector<value>>> execute(const std::string& encoded, std::size_t count);

    /// Open and not in the middle of a batch (a batch abandoned half-way,
    /// e.g. its coroutine destroyed, leaves replies unread: never reuse it).
    bool reusable() const noexcept { return stream_ && stream_->is_open() && !busy_; }
    /// Batches run on this connection so far.
    std::uint64_t uses() const noexcept { return uses_; }

private:
    std::unique_ptr<net::tcp_stream> stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::uint64_t uses_ = 0;
    bool busy_ = false;
};

class client {
public:
    explicit client(options opts = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// One command.
    task<result<value>> command(std::vector<std::string> args);
    /// One command from strings/literals (encoded before this returns), e.g.
    /// `co_await r.command("GET", "k")`.
    template <class... Args>
    requires(sizeof...(Args) > 0 && (std::is_convertible_v<const Args&, std::string_view> &&
                                     ...)) task<result<value>> command(const Args&... args)
    {
        const std::string_view views[] = {std::string_view(args)...};
        pipeline p;
        append_command(p, std::span<const std::string_view>(views, sizeof...(Args)));
        return first_reply(execute(std::move(p)));
    }
    /// A pipeline: all replies, in order (error replies included as values).
    task<result<std::vector<value>>> execute(pipeline batch);

    const options& config() const noexcept { return options_; }
    pool::metrics pool_metrics() const;
    /// Connections made so far (reconnects show here).
    std::uint64_t connections_made() const noexcept;

private:
    static void append_command(pipeline& p, std::span<const std::string_view> args) { p.add(args); }
    static task<result<value>> first_reply(task<result<std::vector<value>>> batch);

    options options_;
    std::unique_ptr<pool::pool<connection>> pool_;
};

}  // namespace covet::redis

template <>
struct std::is_error_code_enum<covet::redis::errc> : std::true_type {
};
