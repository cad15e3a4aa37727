#pragma once

// A gather send straight on a plain TCP socket, without an Asio operation:
// on loopback and with room in the socket buffer a reply almost always goes
// out whole, so a reactor operation and a posted completion per write would
// be pure cost. Callers hand what was not taken to asio::async_write.

#include <covet/base/result.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <span>

namespace covet::net {

/// The most buffers one send_now() passes to the kernel; the rest stay unsent.
inline constexpr std::size_t send_now_max_buffers = 64;

/// Sends what `socket` takes now (MSG_DONTWAIT, no SIGPIPE, EINTR retried):
/// the bytes sent, 0 when the socket buffer is full, or the error. Up to 2 KiB
/// in all are joined and go with send(), cheaper in the kernel than sendmsg().
result<std::size_t> send_now(asio::ip::tcp::socket& socket,
                             std::span<const asio::const_buffer> buffers) noexcept;

/// What is left of `buffers` after their first `sent` bytes went out: whole
/// buffers dropped, the front of a partial one advanced in place.
std::span<asio::const_buffer> unsent(std::span<asio::const_buffer> buffers, std::size_t sent) noexcept;

}  // namespace covet::net
