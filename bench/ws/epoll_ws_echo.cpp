// epoll_ws_echo: the ceiling of the WebSocket echo benchmark (bench/ws/run.sh
// --servers ceiling): what a server that does nothing but echo frames costs
// on this kernel. One thread, level-triggered epoll, per readable event one
// recv() and one send() of every echo it completed (one recv and one send per
// message at one message in flight: the least system calls an epoll server
// can make). No fragmentation, control frames other than close, deflate,
// UTF-8 checks or limits: not a WebSocket server, a floor for one.
//   covet_ws_ceiling [--port P]     prints "port N", serves until killed
#include "port_option.hpp"

#include <covet/ws/handshake.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct connection {
    int fd = -1;
    bool upgraded = false;
    std::vector<std::uint8_t> in;  // received, not yet echoed
    std::string out;               // echoes the socket did not take yet
};

void close_connection(int epfd, connection* c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    delete c;
}

// The 101 for a complete request head in c->in; false when it is not one.
bool answer_upgrade(connection* c, std::size_t head_size)
{
    const std::string_view head(reinterpret_cast<const char*>(c->in.data()), head_size);
    const std::size_t at = head.find("Sec-WebSocket-Key:");
    if (at == std::string_view::npos) {
        return false;
    }
    std::size_t begin = head.find_first_not_of(' ', at + 18);
    const std::size_t end = head.find("\r\n", begin);
    c->out +=
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ";
    c->out += covet::ws::accept_key(head.substr(begin, end - begin));
    c->out += "\r\n\r\n";
    c->in.erase(c->in.begin(), c->in.begin() + static_cast<std::ptrdiff_t>(head_size));
    c->upgraded = true;
    return true;
}

// Echoes every complete client frame in c->in into c->out (unmasked); false on a close frame.
bool echo_frames(connection* c)
{
    std::size_t at = 0;
    bool open = true;
    while (c->in.size() - at >= 6) {
        const std::uint8_t* p = c->in.data() + at;
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
        if (c->in.size() - at < header + 4 + length) {
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
        c->out.append(reinterpret_cast<const char*>(head), head_size);
        const std::size_t base = c->out.size();
        c->out.resize(base + length);
        for (std::uint64_t i = 0; i < length; ++i) {
            c->out[base + i] = static_cast<char>(payload[i] ^ mask[i & 3]);
        }
        at += header + 4 + length;
    }
    c->in.erase(c->in.begin(), c->in.begin() + static_cast<std::ptrdiff_t>(at));
    return open;
}

// Sends c->out; waits for EPOLLOUT (and stops reading) while the socket is full.
bool flush(int epfd, connection* c)
{
    if (c->out.empty()) {
        return true;
    }
    const ssize_t sent = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
    }
    c->out.erase(0, sent < 0 ? 0 : static_cast<std::size_t>(sent));
    epoll_event ev{};
    ev.events = c->out.empty() ? EPOLLIN : EPOLLOUT;
    ev.data.ptr = c;
    return c->out.empty() || epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

}  // namespace

int main(int argc, char** argv)
{
    const unsigned short port = port_option(argc, argv);
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
        std::perror("covet_ws_ceiling");
        return 1;
    }
    const int epfd = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listener
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    std::printf("port %u\n", ntohs(address.sin_port));
    std::fflush(stdout);
    std::vector<std::uint8_t> chunk(128 * 1024);
    epoll_event events[256];
    for (;;) {
        const int ready = epoll_wait(epfd, events, 256, -1);
        for (int i = 0; i < ready; ++i) {
            auto* c = static_cast<connection*>(events[i].data.ptr);
            if (c == nullptr) {
                for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto* fresh = new connection;
                    fresh->fd = fd;
                    epoll_event add{};
                    add.events = EPOLLIN;
                    add.data.ptr = fresh;
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &add);
                }
                continue;
            }
            bool keep = true;
            if (events[i].events & EPOLLOUT) {
                keep = flush(epfd, c);
            } else {
                const ssize_t got = recv(c->fd, chunk.data(), chunk.size(), 0);
                if (got <= 0) {
                    keep = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
                } else {
                    c->in.insert(c->in.end(), chunk.data(), chunk.data() + got);
                    if (!c->upgraded) {
                        const std::string_view text(reinterpret_cast<const char*>(c->in.data()),
                                                    c->in.size());
                        const std::size_t end = text.find("\r\n\r\n");
                        if (end != std::string_view::npos) {
                            keep = answer_upgrade(c, end + 4);
                        }
                    }
                    if (keep && c->upgraded) {
                        keep = echo_frames(c);
                    }
                    keep = flush(epfd, c) && keep;
                }
            }
            if (!keep) {
                close_connection(epfd, c);
            }
        }
    }
}
