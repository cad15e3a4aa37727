// epoll_ws_echo: the ceiling of the WebSocket echo benchmark (bench/ws/run.sh
// --servers ceiling): what a server that does nothing but echo frames costs
// on this kernel. One thread, level-triggered epoll, per readable event one
// recv() and one send() of every echo it completed (one recv and one send per
// message at one message in flight: the least system calls an epoll server
// can make). The frames themselves: frame_echo.hpp, shared with the io_uring
// floor (uring_ws_echo.cpp). Not a WebSocket server, a floor for one.
//   covet_ws_ceiling [--port P]     prints "port N", serves until killed
#include "frame_echo.hpp"
#include "port_option.hpp"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct connection {
    int fd = -1;
    frame_echo echo;  // its `out`: echoes the socket did not take yet
};

void close_connection(int epfd, connection* c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    delete c;
}

// Sends c->out; waits for EPOLLOUT (and stops reading) while the socket is full.
bool flush(int epfd, connection* c)
{
    std::string& out = c->echo.out;
    if (out.empty()) {
        return true;
    }
    const ssize_t sent = send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
    }
    out.erase(0, sent < 0 ? 0 : static_cast<std::size_t>(sent));
    epoll_event ev{};
    ev.events = out.empty() ? EPOLLIN : EPOLLOUT;
    ev.data.ptr = c;
    return out.empty() || epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

}  // namespace

int main(int argc, char** argv)
{
    const int listener = open_loopback_listener(port_option(argc, argv), "covet_ws_ceiling");
    if (listener < 0) {
        return 1;
    }
    const int one = 1;
    const int epfd = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listener
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
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
                    keep = c->echo.feed(chunk.data(), static_cast<std::size_t>(got));
                    keep = flush(epfd, c) && keep;
                }
            }
            if (!keep) {
                close_connection(epfd, c);
            }
        }
    }
}
