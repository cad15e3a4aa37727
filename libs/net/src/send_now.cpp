#include <covet/net/detail/error.hpp>
#include <covet/net/send_now.hpp>

#include <sys/socket.h>
#include <sys/uio.h>
#include <array>
#include <cerrno>

namespace covet::net {

result<std::size_t> send_now(asio::ip::tcp::socket& socket,
                             std::span<const asio::const_buffer> buffers) noexcept
{
    std::array<iovec, send_now_max_buffers> vectors;
    std::size_t count = 0;
    for (const asio::const_buffer& b : buffers) {
        if (count == vectors.size()) {
            break;
        }
        vectors[count].iov_base = const_cast<void*>(b.data());
        vectors[count].iov_len = b.size();
        ++count;
    }
    msghdr header{};
    header.msg_iov = vectors.data();
    header.msg_iovlen = count;
    ssize_t sent = 0;
    do {
        sent = ::sendmsg(socket.native_handle(), &header, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent >= 0) {
        return static_cast<std::size_t>(sent);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return std::size_t{0};
    }
    return detail::normalize_error(std::error_code(errno, std::system_category()));
}

std::span<asio::const_buffer> unsent(std::span<asio::const_buffer> buffers, std::size_t sent) noexcept
{
    std::size_t first = 0;
    while (first < buffers.size() && sent >= buffers[first].size()) {
        sent -= buffers[first].size();
        ++first;
    }
    if (first < buffers.size()) {
        buffers[first] += sent;
    }
    return buffers.subspan(first);
}

}  // namespace covet::net
