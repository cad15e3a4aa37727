#pragma once
// The per-connection logic of the frames-only WebSocket echo floors
// (epoll_ws_echo.cpp, uring_ws_echo.cpp): answer the upgrade, then echo every
// complete client frame unmasked. No fragmentation, control frames other than
// close, deflate, UTF-8 checks or limits: not a WebSocket server, a floor for
// one. The I/O model is the servers' business; this only turns received bytes
// into bytes to send (and opens their listener).
#include <covet/ws/handshake.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

struct frame_echo {
    bool upgraded = false;
    std::vector<std::uint8_t> in;  // received, not a complete frame (or request head) yet
    std::string out;               // to send

    // Takes `size` received bytes; false when the connection is to be closed
    // (a close frame, or a request head without a Sec-WebSocket-Key).
    bool feed(const std::uint8_t* data, std::size_t size)
    {
        if (upgraded && in.empty()) {
            // The usual case: whole frames straight from the receive buffer, no copy into `in`.
            bool open = true;
            const std::size_t used = echo_frames(data, size, open);
            in.assign(data + used, data + size);
            return open;
        }
        in.insert(in.end(), data, data + size);
        if (!upgraded) {
            const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
            const std::size_t end = text.find("\r\n\r\n");
            if (end == std::string_view::npos) {
                return true;
            }
            if (!answer_upgrade(text.substr(0, end + 4))) {
                return false;
            }
            in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(end + 4));
        }
        bool open = true;
        const std::size_t used = echo_frames(in.data(), in.size(), open);
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
        return open;
    }

private:
    // Appends the 101 for a complete request head; false when it is not an upgrade.
    bool answer_upgrade(std::string_view head)
    {
        const std::size_t at = head.find("Sec-WebSocket-Key:");
        if (at == std::string_view::npos) {
            return false;
        }
        const std::size_t begin = head.find_first_not_of(' ', at + 18);
        const std::size_t end = head.find("\r\n", begin);
        out +=
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: ";
        out += covet::ws::accept_key(head.substr(begin, end - begin));
        out += "\r\n\r\n";
        upgraded = true;
        return true;
    }

    // Echoes the complete frames at the front of data into `out`; returns the bytes they took.
    // `open` turns false on a close frame (which is echoed too).
    std::size_t echo_frames(const std::uint8_t* data, std::size_t size, bool& open)
    {
        std::size_t at = 0;
        while (size - at >= 6) {
            const std::uint8_t* p = data + at;
            std::uint64_t length = p[1] & 0x7F;
            std::size_t header = 2;
            if (length == 126) {
                length = (std::uint64_t{p[2]} << 8) | p[3];
                header = 4;
            } else if (length == 127) {
                length = 0;
                for (int i = 0; i < 8; ++i) {
                    length = (length << 8) | p[2 + i];
                }
                header = 10;
            }
            if (size - at < header + 4 + length) {
                break;
            }
            const std::uint8_t* mask = p + header;
            const std::uint8_t* payload = mask + 4;
            if ((p[0] & 0x0F) == 0x8) {
                open = false;
            }
            std::uint8_t head[10] = {p[0], 0};
            std::size_t head_size = 2;
            if (length < 126) {
                head[1] = static_cast<std::uint8_t>(length);
            } else if (length < 65536) {
                head[1] = 126;
                head[2] = static_cast<std::uint8_t>(length >> 8);
                head[3] = static_cast<std::uint8_t>(length);
                head_size = 4;
            } else {
                head[1] = 127;
                for (int i = 0; i < 8; ++i) {
                    head[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
                }
                head_size = 10;
            }
            out.append(reinterpret_cast<const char*>(head), head_size);
            const std::size_t base = out.size();
            out.resize(base + length);
            for (std::uint64_t i = 0; i < length; ++i) {
                out[base + i] = static_cast<char>(payload[i] ^ mask[i & 3]);
            }
            at += header + 4 + length;
        }
        return at;
    }
};

// A non-blocking listener on 127.0.0.1:port (0: any free port) that has printed
// "port N" (what the benchmark scripts wait for); -1 after perror(name) on failure.
inline int open_loopback_listener(unsigned short port, const char* name)
{
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(listener, 4096) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        std::perror(name);
        return -1;
    }
    std::printf("port %u\n", ntohs(address.sin_port));
    std::fflush(stdout);
    return listener;
}
