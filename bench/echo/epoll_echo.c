/*
 * epoll_echo: the "ceiling" for the echo benchmark (bench/echo/run.sh).
 *
 *   covet_epoll_echo [--address A] [--port P]
 *
 * A deliberately minimal single-threaded TCP echo server on level-triggered epoll: what a
 * careful C programmer writes in an afternoon, with no framework in the way. covet_echo is
 * measured against it. Per readable event it does one recv() and one send() of what it got;
 * if the send is partial the rest is kept in a per-connection buffer and the connection
 * waits for EPOLLOUT (and stops reading, so a client that does not read cannot make us
 * buffer without bound). Connections close on EOF or error. SIGINT/SIGTERM, received via
 * a signalfd so that no signal can slip in between a check and epoll_wait(), stop it.
 */
#define _GNU_SOURCE /* accept4(); NOLINT(bugprone-reserved-identifier) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    READ_CHUNK = 16 * 1024, /* largest single recv(); also the size of a pending buffer */
    MAX_EVENTS = 256,
};

struct connection {
    int fd;
    char* pending; /* bytes received but not yet echoed; allocated on first partial send */
    size_t pending_off;
    size_t pending_len;
    struct connection *prev, *next; /* all open connections, to free them on shutdown */
};

/* epoll_event.data.ptr of the two non-connection descriptors. */
static char listener_tag, signal_tag;

static struct connection* connections;

static void usage(void)
{
    fprintf(stderr, "usage: covet_epoll_echo [--address A] [--port P]\n");
}

static int parse_port(const char* text, unsigned short* port)
{
    char* end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value > 65535) {
        return -1;
    }
    *port = (unsigned short)value;
    return 0;
}

static void close_connection(int epfd, struct connection* c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        connections = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    free(c->pending);
    free(c);
}

static int set_interest(int epfd, struct connection* c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void accept_all(int epfd, int listen_fd)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Out of descriptors or memory: the listener stays readable, so we will be
                 * back on the next epoll_wait(); nothing better to do in a benchmark. */
                perror("epoll_echo: accept4");
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection* c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("epoll_echo: epoll_ctl");
            close(fd);
            free(c);
            continue;
        }
        c->next = connections;
        if (connections) {
            connections->prev = c;
        }
        connections = c;
    }
}

/* Sends as much of `data` as the socket takes. Returns the number of bytes sent, or -1 if
 * the connection is broken. */
static ssize_t send_some(int fd, const char* data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return -1;
        }
    }
    return (ssize_t)done;
}

static void on_readable(int epfd, struct connection* c)
{
    static char buffer[READ_CHUNK];
    ssize_t n = recv(c->fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        close_connection(epfd, c);
        return;
    }
    if (n < 0) {
        return; /* spurious wake-up; level-triggered epoll will tell us again */
    }
    ssize_t sent = send_some(c->fd, buffer, (size_t)n);
    if (sent < 0) {
        close_connection(epfd, c);
        return;
    }
    if (sent == n) {
        return; /* the common case: everything echoed at once */
    }
    /* Partial send: keep the rest and wait for EPOLLOUT instead of EPOLLIN. */
    if (!c->pending && !(c->pending = malloc(READ_CHUNK))) {
        close_connection(epfd, c);
        return;
    }
    c->pending_off = 0;
    c->pending_len = (size_t)(n - sent);
    memcpy(c->pending, buffer + sent, c->pending_len);
    if (set_interest(epfd, c, EPOLLOUT) < 0) {
        close_connection(epfd, c);
    }
}

static void on_writable(int epfd, struct connection* c)
{
    ssize_t sent = send_some(c->fd, c->pending + c->pending_off, c->pending_len);
    if (sent < 0) {
        close_connection(epfd, c);
        return;
    }
    c->pending_off += (size_t)sent;
    c->pending_len -= (size_t)sent;
    if (c->pending_len == 0 && set_interest(epfd, c, EPOLLIN) < 0) {
        close_connection(epfd, c);
    }
}

static int open_listener(const char* address, unsigned short port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
        fprintf(stderr, "epoll_echo: not an IPv4 address: %s\n", address);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("epoll_echo: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(fd, SOMAXCONN) < 0) {
        fprintf(stderr, "epoll_echo: cannot listen on %s port %u: %s\n", address, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char** argv)
{
    const char* address = "0.0.0.0";
    unsigned short port = 7007;
    for (int i = 1; i < argc; ++i) {
        const char* value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--address") == 0 && value) {
            address = value;
            ++i;
        } else if (strcmp(argv[i], "--port") == 0 && value && parse_port(value, &port) == 0) {
            ++i;
        } else {
            usage();
            return 2;
        }
    }

    /* Block the stop signals and read them from a descriptor in the same epoll set. A signal
     * ignored at start-up (bash ignores SIGINT in background jobs) would be discarded rather
     * than queued, so restore the default disposition first. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) < 0) {
        perror("epoll_echo: sigprocmask");
        return 1;
    }
    int sig_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    int listen_fd = open_listener(address, port);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sig_fd < 0 || listen_fd < 0 || epfd < 0) {
        if (sig_fd < 0 || epfd < 0) {
            perror("epoll_echo: signalfd/epoll_create1");
        }
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.ptr = &signal_tag;
    epoll_ctl(epfd, EPOLL_CTL_ADD, sig_fd, &ev);

    struct sockaddr_in bound;
    socklen_t bound_len = sizeof bound;
    getsockname(listen_fd, (struct sockaddr*)&bound, &bound_len); /* resolves --port 0 */
    printf("epoll_echo: TCP echo on %s port %u (single thread, epoll); Ctrl-C stops\n", address,
           ntohs(bound.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    int running = 1;
    while (running) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("epoll_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == &listener_tag) {
                accept_all(epfd, listen_fd);
            } else if (tag == &signal_tag) {
                running = 0;
            } else {
                /* A connection closed earlier in this batch cannot appear later in it: it is
                 * only ever closed while handling its own event. */
                struct connection* c = tag;
                /* Dispatch on our state, not on the event bits: EPOLLERR/EPOLLHUP come
                 * without EPOLLOUT, and reading then would reorder the echoed bytes. The
                 * failing send() or recv() closes the connection. */
                if (c->pending_len > 0) {
                    on_writable(epfd, c);
                } else {
                    on_readable(epfd, c);
                }
            }
        }
    }

    unsigned long open_at_stop = 0;
    while (connections) {
        close_connection(epfd, connections);
        ++open_at_stop;
    }
    close(listen_fd);
    close(sig_fd);
    close(epfd);
    printf("epoll_echo: stopped (%lu connections were open)\n", open_at_stop);
    return 0;
}
