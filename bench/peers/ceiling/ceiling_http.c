/*
 * ceiling_http: the physical ceiling of tools/covet-bench on this machine.
 *
 *   covet_ceiling_http [--address A] [--port P]
 *
 * A deliberately minimal single-threaded HTTP/1.1 "server" on level-triggered epoll. It is not
 * a real server: it parses just enough to count requests (each ends at the first "\r\n\r\n";
 * bodies are not supported) and to tell GET /json from everything else, and answers each one
 * with a canned response (plaintext or JSON, Server and Date headers included, the Date
 * refreshed once a second). Every complete request in the input buffer is answered, and all
 * of the answers go out in one send(), which is what makes pipelining cheap. Whatever a real
 * server does on top of this (parsing, routing, validation, serialization) is overhead
 * relative to this ceiling.
 *
 * A partial send keeps the rest in the connection's output buffer and waits for EPOLLOUT
 * without reading more. SIGINT/SIGTERM (via a signalfd) stop it.
 */
#define _GNU_SOURCE /* accept4(), memmem(); NOLINT(bugprone-reserved-identifier) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    IN_CAPACITY = 16 * 1024, /* a request head must fit; larger ones close the connection */
    MAX_EVENTS = 256,
};

/* The two canned responses. "Date: " is followed by 29 characters rewritten every second. */
#define DATE_PLACEHOLDER "Thu, 01 Jan 1970 00:00:00 GMT"
static char plaintext_response[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: ceiling\r\n"
    "Date: " DATE_PLACEHOLDER
    "\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
static char json_response[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: ceiling\r\n"
    "Date: " DATE_PLACEHOLDER
    "\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 27\r\n"
    "\r\n"
    "{\"message\":\"Hello, World!\"}";
#define PLAINTEXT_LEN (sizeof plaintext_response - 1)
#define JSON_LEN (sizeof json_response - 1)

struct connection {
    int fd;
    size_t in_len; /* unparsed input: at most one incomplete request head */
    char in[IN_CAPACITY];
    char* out; /* responses not yet sent (after a partial send) */
    size_t out_off, out_len, out_cap;
    int waiting_out; /* registered for EPOLLOUT instead of EPOLLIN */
};

/* epoll_event.data.ptr of the two non-connection descriptors. */
static char listener_tag, signal_tag;

/* Rewrites the Date header of both responses when the second has changed. */
static void refresh_date(void)
{
    static time_t shown = -1;
    time_t now = time(NULL);
    if (now == shown) {
        return;
    }
    shown = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[sizeof DATE_PLACEHOLDER];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    memcpy(strstr(plaintext_response, "Date: ") + 6, date, sizeof date - 1);
    memcpy(strstr(json_response, "Date: ") + 6, date, sizeof date - 1);
}

static void close_connection(int epoll_fd, struct connection* c)
{
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Sends the pending output. Returns 0 when all of it went, 1 if some is left, -1 on error. */
static int flush(struct connection* c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Appends n bytes to the output buffer, growing it as needed. Returns -1 if out of memory. */
static int append(struct connection* c, const char* data, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n) {
            cap *= 2;
        }
        char* grown = realloc(c->out, cap);
        if (!grown) {
            return -1;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

/* Reads what is there, answers every complete request in one send(). -1: close it. */
static int on_readable(struct connection* c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
    if (n == 0) {
        return -1;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
    c->in_len += (size_t)n;

    const char* p = c->in;
    const char* end = c->in + c->in_len;
    const char* head_end;
    while ((head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) != NULL) {
        /* "GET /json " (or "?...") selects JSON; anything else gets the plaintext answer. */
        int json = head_end - p >= 9 && memcmp(p, "GET /json", 9) == 0 && (p[9] == ' ' || p[9] == '?');
        if (append(c, json ? json_response : plaintext_response, json ? JSON_LEN : PLAINTEXT_LEN) < 0) {
            return -1;
        }
        p = head_end + 4;
    }
    /* Keep the incomplete rest at the start of the buffer; a full buffer is a head too big. */
    c->in_len = (size_t)(end - p);
    memmove(c->in, p, c->in_len);
    if (c->in_len == sizeof c->in) {
        return -1;
    }
    return c->out_len ? flush(c) : 0;
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

static int open_listener(const char* address, unsigned short port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
        fprintf(stderr, "covet_ceiling_http: bad IPv4 address %s\n", address);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(fd, 4096) < 0) {
        perror("covet_ceiling_http: listen");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

int main(int argc, char** argv)
{
    const char* address = "127.0.0.1";
    unsigned short port = 8080;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--address") == 0) {
            address = argv[i + 1];
        } else if (i + 1 < argc && strcmp(argv[i], "--port") == 0 && parse_port(argv[i + 1], &port) == 0) {
        } else {
            fprintf(stderr, "usage: covet_ceiling_http [--address A] [--port P]\n");
            return 2;
        }
    }

    int listen_fd = open_listener(address, port);
    if (listen_fd < 0) {
        return 1;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.ptr = &signal_tag;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &ev);
    printf("covet_ceiling_http listening on %s:%u\n", address, port);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("covet_ceiling_http: epoll_wait");
            return 1;
        }
        refresh_date();
        for (int i = 0; i < ready; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == &signal_tag) {
                return 0; /* the kernel closes what is left */
            }
            if (tag == &listener_tag) {
                int fd;
                while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct connection* c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            struct connection* c = tag;
            int state;
            if (events[i].events & (EPOLLERR | EPOLLHUP)) {
                state = -1;
            } else if (c->out_len) { /* waiting for EPOLLOUT: only write */
                state = flush(c);
            } else {
                state = on_readable(c);
            }
            if (state < 0) {
                close_connection(epoll_fd, c);
                continue;
            }
            /* Wait for writability while output is pending, for input otherwise (one syscall
               only when that changes, which is rare). */
            if ((state == 1) != c->waiting_out) {
                c->waiting_out = state == 1;
                struct epoll_event cev = {.events = c->waiting_out ? EPOLLOUT : EPOLLIN, .data.ptr = c};
                epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &cev);
            }
        }
    }
}
