#pragma once
// any_stream: an owning, type-erased byte stream (a tcp_stream or a
// tls_stream). Protocols that take over a connection after an HTTP upgrade
// (WebSocket, h2c) or that run over either transport use it, so that they are
// compiled once instead of once per stream type. One virtual call per
// operation is noise next to the system call behind it.

#include <covet/base/result.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/task.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <span>
#include <type_traits>
#include <utility>

namespace covet::net {

class any_stream {
public:
    any_stream() noexcept = default;
    /// Takes ownership of a tcp_stream, a tls_stream or another basic_stream.
    template <class Stream>
    requires(!std::is_same_v<std::remove_cvref_t<Stream>, any_stream>) explicit any_stream(Stream stream)
        : impl_(std::make_unique<model<Stream>>(std::move(stream)))
    {
    }

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    task<result<std::size_t>> read_some(asio::mutable_buffer buffer) { return impl_->read_some(buffer); }
    task<result<std::size_t>> read_exactly(asio::mutable_buffer buffer)
    {
        return impl_->read_exactly(buffer);
    }
    task<result<std::size_t>> write(asio::const_buffer buffer) { return impl_->write(buffer); }
    task<result<std::size_t>> write(std::span<const asio::const_buffer> buffers)
    {
        return impl_->write(buffers);
    }

    void set_timeouts(stream_timeouts timeouts) noexcept { impl_->set_timeouts(timeouts); }
    stream_timeouts timeouts() const noexcept { return impl_->timeouts(); }

    /// The TCP socket underneath (for options, shutdown, readiness waits).
    asio::ip::tcp::socket& socket() noexcept { return impl_->socket(); }
    /// The socket itself when the stream is plain TCP (no TLS) with no
    /// timeouts set, else nullptr: a protocol's hot path may then read and
    /// write it directly, without a timed operation's coroutine frame (an idle
    /// WebSocket holds one less frame, every message costs one less).
    asio::ip::tcp::socket* plain_socket() noexcept { return impl_ ? impl_->plain_socket() : nullptr; }
    asio::any_io_executor get_executor() noexcept { return impl_->socket().get_executor(); }
    result<asio::ip::tcp::endpoint> remote_endpoint() const { return impl_->remote_endpoint(); }
    bool is_open() const noexcept { return impl_ && impl_->is_open(); }
    /// Closes the socket; pending operations complete with operation_aborted.
    void close() noexcept
    {
        if (impl_) {
            impl_->close();
        }
    }

private:
    struct concept_base {
        virtual ~concept_base() = default;
        virtual task<result<std::size_t>> read_some(asio::mutable_buffer) = 0;
        virtual task<result<std::size_t>> read_exactly(asio::mutable_buffer) = 0;
        virtual task<result<std::size_t>> write(asio::const_buffer) = 0;
        virtual task<result<std::size_t>> write(std::span<const asio::const_buffer>) = 0;
        virtual void set_timeouts(stream_timeouts) noexcept = 0;
        virtual stream_timeouts timeouts() const noexcept = 0;
        virtual asio::ip::tcp::socket& socket() noexcept = 0;
        virtual asio::ip::tcp::socket* plain_socket() noexcept = 0;
        virtual result<asio::ip::tcp::endpoint> remote_endpoint() const = 0;
        virtual bool is_open() const noexcept = 0;
        virtual void close() noexcept = 0;
    };

    template <class Stream>
    struct model final : concept_base {
        explicit model(Stream s) : stream(std::move(s)) {}
        task<result<std::size_t>> read_some(asio::mutable_buffer b) override { return stream.read_some(b); }
        task<result<std::size_t>> read_exactly(asio::mutable_buffer b) override
        {
            return stream.read_exactly(b);
        }
        task<result<std::size_t>> write(asio::const_buffer b) override { return stream.write(b); }
        task<result<std::size_t>> write(std::span<const asio::const_buffer> b) override
        {
            return stream.write(b);
        }
        void set_timeouts(stream_timeouts t) noexcept override { stream.set_timeouts(t); }
        stream_timeouts timeouts() const noexcept override { return stream.timeouts(); }
        asio::ip::tcp::socket& socket() noexcept override { return stream.socket(); }
        asio::ip::tcp::socket* plain_socket() noexcept override
        {
            if constexpr (std::is_same_v<Stream, basic_stream<asio::ip::tcp::socket>>) {
                const stream_timeouts t = stream.timeouts();
                if (t.read.count() == 0 && t.write.count() == 0) {
                    return &stream.socket();
                }
            }
            return nullptr;
        }
        result<asio::ip::tcp::endpoint> remote_endpoint() const override { return stream.remote_endpoint(); }
        bool is_open() const noexcept override { return stream.is_open(); }
        void close() noexcept override { stream.close(); }
        Stream stream;
    };

    std::unique_ptr<concept_base> impl_;
};

}  // namespace covet::net
