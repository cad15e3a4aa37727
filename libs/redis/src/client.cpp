#include <covet/base/error.hpp>
#include <covet/redis/client.hpp>

#include <asio/error.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace covet::redis {

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet.redis"; }
    std::string message(int code) const override
    {
        switch (static_cast<errc>(code)) {
        case errc::protocol_error: return "the server's reply is not valid RESP";
        case errc::server_error: return "the server answered with an error reply";
        case errc::unexpected_reply: return "unexpected reply type";
        }
        return "unknown covet.redis error";
    }
};

/// Errors that mean "the server closed this connection", not "this command failed".
bool connection_lost(std::error_code ec) noexcept
{
    return ec == covet::errc::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::eof || ec == asio::error::connection_aborted;
}

}  // namespace

const std::error_category& redis_category() noexcept
{
    static const category instance;
    return instance;
}

task<result<connection>> connection::open(options opts)
{
    const net::connect_options how{.timeout = opts.connect_timeout};
    auto stream = co_await net::connect(opts.host, opts.port, how);
    if (!stream) {
        co_return stream.error();
    }
    connection c;
    c.stream_ = std::make_unique<net::tcp_stream>(std::move(*stream));
    c.stream_->set_timeouts({.read = opts.command_timeout, .write = opts.command_timeout});
    c.buffer_.resize(16 * 1024);

    pipeline setup;
    if (opts.resp3) {
        if (!opts.password.empty()) {
            const std::string user = opts.username.empty() ? std::string("default") : opts.username;
            setup.add({"HELLO", "3", "AUTH", user, opts.password});
        } else {
            setup.add({"HELLO", "3"});
        }
    } else if (!opts.password.empty()) {
        if (opts.username.empty()) {
            setup.add({"AUTH", opts.password});
        } else {
            setup.add({"AUTH", opts.username, opts.password});
        }
    }
    if (opts.database != 0) {
        setup.add({"SELECT", std::to_string(opts.database)});
    }
    if (!setup.empty()) {
        auto replies = co_await c.execute(setup.encoded(), setup.size());
        if (!replies) {
            co_return replies.error();
        }
        for (const auto& r : *replies) {
            if (r.is_error()) {
                co_return errc::server_error;
            }
        }
        c.uses_ = 0;
    }
    co_return c;
}

task<result<std::vector<value>>> connection::execute(const std::string& encoded, std::size_t count)
{
    ++uses_;
    busy_ = true;
    std::vector<value> replies;
    replies.reserve(count);
    auto written = co_await stream_->write(asio::buffer(encoded));
    if (!written) {
        stream_->close();
        co_return written.error();
    }
    while (replies.size() < count) {
        value v;
        std::size_t used = 0;
        const auto st = parse(std::string_view(buffer_.data() + begin_, end_ - begin_), v, used);
        if (st == parse_status::complete) {
            replies.push_back(std::move(v));
            begin_ += used;
            if (begin_ == end_) {
                begin_ = end_ = 0;
            }
            continue;
        }
        if (st == parse_status::invalid) {
            stream_->close();
            co_return errc::protocol_error;
        }
        // Need more bytes: make room at the end (compact, then grow).
        if (begin_ > 0) {
            std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == buffer_.size()) {
            buffer_.resize(buffer_.size() * 2);
        }
        auto n = co_await stream_->read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_));
        if (!n) {
            stream_->close();
            co_return n.error();
        }
        end_ += *n;
    }
    busy_ = false;
    co_return replies;
}

client::client(options opts) : options_(std::move(opts))
{
    const options for_factory = options_;
    pool_ = std::make_unique<pool::pool<connection>>(
        [for_factory]() { return connection::open(for_factory); },
        pool::options{.max_size = std::max<std::size_t>(options_.pool_size, 1),
                      .acquire_timeout = options_.acquire_timeout,
                      .idle_timeout = options_.idle_timeout});
    pool_->validate_on_acquire([](connection& c) { return c.reusable(); });
    pool_->validate_on_release([](connection& c) { return c.reusable(); });
}

client::~client() = default;

task<result<std::vector<value>>> client::execute(pipeline batch)
{
    result<std::vector<value>> outcome{covet::errc::no_result};
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto h = co_await pool_->acquire();
        if (!h) {
            outcome = h.error();
            break;
        }
        const bool reused = (*h)->uses() > 0;
        auto replies = co_await (*h)->execute(batch.encoded(), batch.size());
        if (replies) {
            outcome = std::move(replies);
            break;
        }
        h->mark_broken();
        outcome = replies.error();
        if (!(reused && connection_lost(replies.error()))) {
            break;
        }
    }
    co_return outcome;
}

task<result<value>> client::command(std::vector<std::string> args)
{
    pipeline p;
    p.add(args);
    auto replies = co_await execute(std::move(p));
    result<value> outcome{covet::errc::no_result};
    if (replies) {
        outcome = std::move(replies->front());
    } else {
        outcome = replies.error();
    }
    co_return outcome;
}

task<result<value>> client::first_reply(task<result<std::vector<value>>> batch)
{
    auto replies = co_await std::move(batch);
    result<value> outcome{covet::errc::no_result};
    if (replies) {
        outcome = std::move(replies->front());
    } else {
        outcome = replies.error();
    }
    co_return outcome;
}

pool::metrics client::pool_metrics() const
{
    return pool_->stats();
}

std::uint64_t client::connections_made() const noexcept
{
    return pool_->stats().created;
}

}  // namespace covet::redis
