// echo_load: closed-loop load generator for TCP echo servers (bench/echo/run.sh).
//
//   covet_echo_load [--host H] [--port P] [--connections N] [--size S] [--pipeline D]
//                   [--duration SEC] [--warmup SEC]
//
// Opens N connections and, on one thread with epoll, keeps D messages of S bytes in flight
// on each (D = 1: strict ping-pong). A message's round trip runs from handing its first
// byte to send() until its last echoed byte has been received and checked. Messages that
// complete during the warm-up are not counted; those that complete in the following
// measured window are counted and their round trips go into a log-linear histogram.
// Prints one line of JSON on stdout; diagnostics go to stderr.
//
// Every message has distinct content (a function of connection and sequence number), and
// every echoed byte is compared with what was sent, so a lost, duplicated, reordered or
// corrupted byte is reported as a mismatch, and a connection whose oldest message has gone
// unanswered for more than max(1 s, duration / 2) at the end as stalled. Exit status: 0 if
// all went well, 1 on any mismatch, connection error, stalled connection or if no message
// completed, 2 on bad usage.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct options {
    std::string host = "127.0.0.1";
    std::string port = "7007";
    std::size_t connections = 64;
    std::size_t size = 64;
    std::size_t pipeline = 1;
    double duration = 5.0;
    double warmup = 1.0;
};

constexpr std::size_t max_message_size = std::size_t{64} << 20;

std::uint64_t now_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t seconds_to_ns(double seconds)
{
    return static_cast<std::uint64_t>(std::llround(seconds * 1e9));
}

// CPU time (user + system) this process has used so far.
std::uint64_t cpu_time_ns()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto ns = [](const timeval& tv) {
        return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000u +
               static_cast<std::uint64_t>(tv.tv_usec) * 1'000u;
    };
    return ns(usage.ru_utime) + ns(usage.ru_stime);
}

// Log-linear histogram of nanosecond values, HdrHistogram-style: exact below 256 ns, then
// each power of two is split into 128 equal buckets, so any recorded value is known to
// within 1/128 (< 0.8 %). Fixed size (58 KiB), nothing allocated per sample.
class histogram {
public:
    void record(std::uint64_t value)
    {
        ++counts_[index(value)];
        ++total_;
        sum_ += value;
        max_ = std::max(max_, value);
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }
    double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

    // The value at quantile q (0 < q <= 1): the middle of the bucket holding the sample of
    // rank ceil(q * count), never more than the largest value recorded.
    std::uint64_t quantile(double q) const
    {
        if (total_ == 0) {
            return 0;
        }
        auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
        rank = std::clamp<std::uint64_t>(rank, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) {
                return std::min(lowest(i) + (width(i) - 1) / 2, max_);
            }
        }
        return max_;
    }

private:
    static constexpr int sub_bits = 7;
    static constexpr std::size_t sub_count = std::size_t{1} << sub_bits;
    // Values below 2 * sub_count map to themselves; above, the index is
    // shift * sub_count + (value >> shift), with value >> shift in [sub_count, 2 * sub_count).
    static constexpr std::size_t bucket_count = (65 - sub_bits) * sub_count;

    static std::size_t index(std::uint64_t value)
    {
        if (value < 2 * sub_count) {
            return static_cast<std::size_t>(value);
        }
        int shift = static_cast<int>(std::bit_width(value)) - 1 - sub_bits;
        return (static_cast<std::size_t>(shift) << sub_bits) + static_cast<std::size_t>(value >> shift);
    }
    static int shift_of(std::size_t i) { return i < 2 * sub_count ? 0 : int(i >> sub_bits) - 1; }
    static std::uint64_t lowest(std::size_t i)
    {
        int shift = shift_of(i);
        return static_cast<std::uint64_t>(i - (static_cast<std::size_t>(shift) << sub_bits)) << shift;
    }
    static std::uint64_t width(std::size_t i) { return std::uint64_t{1} << shift_of(i); }

    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

std::uint64_t mix64(std::uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

// The content of message `seq` of connection `conn`: a splitmix64 stream seeded by both.
void fill_message(std::uint64_t conn, std::uint64_t seq, char* out, std::size_t size)
{
    std::uint64_t state = mix64((conn << 40) ^ seq ^ 0x5bd1e9955bd1e995u);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        state += 0x9e3779b97f4a7c15u;
        std::uint64_t word = mix64(state);
        std::memcpy(out + i, &word, 8);
    }
    if (i < size) {
        state += 0x9e3779b97f4a7c15u;
        std::uint64_t word = mix64(state);
        std::memcpy(out + i, &word, size - i);
    }
}

// One connection's position in its byte stream. Message m occupies stream bytes
// [m * size, (m + 1) * size), both ways.
struct connection {
    int fd = -1;
    std::uint32_t id = 0;
    bool open = false;
    bool want_write = false;                   // EPOLLOUT is in the interest set
    std::uint64_t sent = 0;                    // bytes handed to send()
    std::uint64_t received = 0;                // bytes received and verified
    std::unique_ptr<char[]> outgoing;          // message sent / size, being sent
    std::unique_ptr<char[]> expected;          // message received / size, being received
    std::unique_ptr<std::uint64_t[]> started;  // send time of message m at [m % pipeline]
};

class load {
public:
    explicit load(const options& o) : o_(o), conns_(o.connections) {}

    // Connects every connection; false (after saying why) if any cannot be opened.
    bool connect_all();
    // Runs warm-up then the measured window; prints the JSON line. Returns the exit status.
    int run();

private:
    void pump_sends(connection& c, std::uint64_t now);
    void on_readable(connection& c);
    void set_write_interest(connection& c, bool on);
    void fail(connection& c, std::uint64_t& counter, const char* what);

    const options& o_;
    std::vector<connection> conns_;
    int epfd_ = -1;
    std::size_t live_ = 0;
    histogram latency_;
    std::uint64_t measure_begin_ = 0;
    std::uint64_t measure_end_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t mismatches_ = 0;
    std::uint64_t complaints_ = 0;  // lines printed on stderr, capped
    std::array<char, std::size_t{64} * 1024> buffer_{};
};

bool load::connect_all()
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(o_.host.c_str(), o_.port.c_str(), &hints, &found); rc != 0) {
        std::fprintf(stderr, "echo_load: cannot resolve %s port %s: %s\n", o_.host.c_str(), o_.port.c_str(),
                     gai_strerror(rc));
        return false;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);

    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
        std::perror("echo_load: epoll_create1");
        return false;
    }
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        connection& c = conns_[i];
        c.id = static_cast<std::uint32_t>(i);
        c.fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
        if (c.fd < 0) {
            std::perror("echo_load: socket");
            return false;
        }
        // A blocking connect() with a bound: SO_SNDTIMEO also limits connect() on Linux, so a
        // server whose accept queue is full cannot hang us for minutes.
        timeval limit{.tv_sec = 5, .tv_usec = 0};
        setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        if (connect(c.fd, found->ai_addr, found->ai_addrlen) < 0) {
            std::fprintf(stderr, "echo_load: connection %zu to %s port %s: %s\n", i, o_.host.c_str(),
                         o_.port.c_str(), std::strerror(errno));
            return false;
        }
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        epoll_event ev{.events = EPOLLIN, .data = {.ptr = &c}};
        if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) < 0) {
            std::perror("echo_load: epoll_ctl");
            return false;
        }
        c.open = true;
        c.outgoing = std::make_unique<char[]>(o_.size);
        c.expected = std::make_unique<char[]>(o_.size);
        c.started = std::make_unique<std::uint64_t[]>(o_.pipeline);
        ++live_;
    }
    return true;
}

void load::fail(connection& c, std::uint64_t& counter, const char* what)
{
    ++counter;
    if (++complaints_ <= 10) {
        std::fprintf(stderr, "echo_load: connection %u: %s\n", c.id, what);
    }
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    c.open = false;
    --live_;
}

void load::set_write_interest(connection& c, bool on)
{
    if (c.want_write == on) {
        return;
    }
    epoll_event ev{.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN, .data = {.ptr = &c}};
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev) < 0) {
        fail(c, errors_, std::strerror(errno));
        return;
    }
    c.want_write = on;
}

// Sends until `pipeline` messages are in flight or the socket is full. `now` stamps the
// messages started here; the caller's clock reading is recent enough and saves a call.
void load::pump_sends(connection& c, std::uint64_t now)
{
    const std::uint64_t size = o_.size;
    const std::uint64_t limit = (c.received / size + o_.pipeline) * size;
    while (c.sent < limit) {
        std::uint64_t offset = c.sent % size;
        if (offset == 0) {
            std::uint64_t seq = c.sent / size;
            fill_message(c.id, seq, c.outgoing.get(), o_.size);
            c.started[seq % o_.pipeline] = now;
        }
        ssize_t n = send(c.fd, c.outgoing.get() + offset, size - offset, MSG_NOSIGNAL);
        if (n > 0) {
            c.sent += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_write_interest(c, true);
            return;
        } else {
            fail(c, errors_, n == 0 ? "send returned 0" : std::strerror(errno));
            return;
        }
    }
    set_write_interest(c, false);
}

void load::on_readable(connection& c)
{
    ssize_t n = recv(c.fd, buffer_.data(), buffer_.size(), 0);
    std::uint64_t now = now_ns();
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        fail(c, errors_, n == 0 ? "closed by the server" : std::strerror(errno));
        return;
    }
    const std::uint64_t size = o_.size;
    if (c.received + static_cast<std::uint64_t>(n) > c.sent) {
        fail(c, mismatches_, "received more bytes than were sent");
        return;
    }
    const bool measuring = now >= measure_begin_ && now < measure_end_;
    std::size_t pos = 0;
    while (pos < static_cast<std::size_t>(n)) {
        std::uint64_t offset = c.received % size;
        std::uint64_t seq = c.received / size;
        if (offset == 0) {
            fill_message(c.id, seq, c.expected.get(), o_.size);
        }
        std::size_t take =
            std::min<std::size_t>(static_cast<std::size_t>(n) - pos, static_cast<std::size_t>(size - offset));
        if (std::memcmp(buffer_.data() + pos, c.expected.get() + offset, take) != 0) {
            char what[128];
            std::snprintf(what, sizeof what, "echoed bytes differ from those sent (message %llu)",
                          static_cast<unsigned long long>(seq));
            // The stream is out of step from here on: stop this connection rather than
            // count every later message as another mismatch.
            fail(c, mismatches_, what);
            return;
        }
        pos += take;
        c.received += take;
        if (c.received % size == 0 && measuring) {
            latency_.record(now - c.started[seq % o_.pipeline]);
        }
    }
    pump_sends(c, now);
}

int load::run()
{
    const std::uint64_t start = now_ns();
    measure_begin_ = start + seconds_to_ns(o_.warmup);
    measure_end_ = measure_begin_ + seconds_to_ns(o_.duration);
    for (connection& c : conns_) {
        pump_sends(c, now_ns());
    }

    std::optional<std::uint64_t> cpu_begin;
    std::array<epoll_event, 256> events{};
    for (;;) {
        std::uint64_t now = now_ns();
        if (!cpu_begin && now >= measure_begin_) {
            cpu_begin = cpu_time_ns();
        }
        if (now >= measure_end_ || live_ == 0) {
            break;
        }
        // Wake at the end of the window even if the server has gone quiet.
        int timeout_ms = static_cast<int>((measure_end_ - now + 999'999) / 1'000'000);
        int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
        if (n < 0 && errno != EINTR) {
            std::perror("echo_load: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            connection& c = *static_cast<connection*>(events[i].data.ptr);
            // on_readable() may close the connection (EOF, error, mismatch): check again.
            if (c.open && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                on_readable(c);
            }
            if (c.open && c.want_write && (events[i].events & EPOLLOUT)) {
                pump_sends(c, now_ns());
            }
        }
    }
    const std::uint64_t cpu_used = cpu_begin ? cpu_time_ns() - *cpu_begin : 0;
    const std::uint64_t wall_used = now_ns() - measure_begin_;

    // A connection whose oldest message in flight has waited longer than half the window
    // (and at least a second) is stalled: the server lost bytes or starves it. Latencies that
    // long on loopback mean something is broken, not slow.
    const std::uint64_t end = now_ns();
    const std::uint64_t stall_limit = std::max<std::uint64_t>(1'000'000'000u, seconds_to_ns(o_.duration) / 2);
    std::uint64_t stalled = 0;
    for (connection& c : conns_) {
        std::uint64_t oldest = c.received / o_.size;
        if (c.open && c.sent > c.received && end - c.started[oldest % o_.pipeline] > stall_limit) {
            ++stalled;
            if (++complaints_ <= 10) {
                std::fprintf(stderr, "echo_load: connection %u: message %llu unanswered for %.1f s\n", c.id,
                             static_cast<unsigned long long>(oldest),
                             static_cast<double>(end - c.started[oldest % o_.pipeline]) / 1e9);
            }
        }
        if (c.fd >= 0) {
            close(c.fd);
        }
    }

    const double seconds = o_.duration;
    const std::uint64_t messages = latency_.count();
    const double rate = static_cast<double>(messages) / seconds;
    auto us = [](double ns) { return ns / 1000.0; };
    std::printf(
        "{\"connections\":%zu,\"message_bytes\":%zu,\"pipeline\":%zu,\"seconds\":%.3f,"
        "\"messages\":%llu,\"msgs_per_sec\":%.1f,\"mib_per_sec\":%.3f,"
        "\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
        "\"p999_us\":%.2f,\"max_us\":%.2f,\"client_cpu\":%.3f,"
        "\"errors\":%llu,\"mismatches\":%llu,\"stalled_connections\":%llu}\n",
        o_.connections, o_.size, o_.pipeline, seconds, static_cast<unsigned long long>(messages), rate,
        rate * static_cast<double>(o_.size) / (1024.0 * 1024.0), us(latency_.mean()),
        us(double(latency_.quantile(0.5))), us(double(latency_.quantile(0.9))),
        us(double(latency_.quantile(0.99))), us(double(latency_.quantile(0.999))), us(double(latency_.max())),
        wall_used ? static_cast<double>(cpu_used) / static_cast<double>(wall_used) : 0.0,
        static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(mismatches_),
        static_cast<unsigned long long>(stalled));
    std::fflush(stdout);
    if (messages == 0) {
        std::fprintf(stderr, "echo_load: no message completed in the measured window\n");
    }
    return (errors_ || mismatches_ || stalled || messages == 0) ? 1 : 0;
}

template <class T>
bool parse_number(std::string_view text, T& out)
{
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

void usage()
{
    std::fprintf(stderr,
                 "usage: covet_echo_load [--host H] [--port P] [--connections N] [--size S]\n"
                 "                       [--pipeline D] [--duration SEC] [--warmup SEC]\n"
                 "defaults: 127.0.0.1 7007, 64 connections, 64-byte messages, pipeline 1,\n"
                 "          5 s measured after 1 s of warm-up\n");
}

std::optional<options> parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (i + 1 >= argc) {
            return std::nullopt;  // every option takes a value
        }
        std::string_view value = argv[++i];
        bool ok = true;
        if (arg == "--host") {
            o.host = value;
        } else if (arg == "--port") {
            std::uint16_t port = 0;
            ok = parse_number(value, port);
            o.port = value;
        } else if (arg == "--connections") {
            ok = parse_number(value, o.connections) && o.connections > 0;
        } else if (arg == "--size") {
            ok = parse_number(value, o.size) && o.size > 0 && o.size <= max_message_size;
        } else if (arg == "--pipeline") {
            ok = parse_number(value, o.pipeline) && o.pipeline > 0 && o.pipeline <= 4096;
        } else if (arg == "--duration") {
            ok = parse_number(value, o.duration) && o.duration > 0 && o.duration < 1e6;
        } else if (arg == "--warmup") {
            ok = parse_number(value, o.warmup) && o.warmup >= 0 && o.warmup < 1e6;
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "echo_load: bad option %s %s\n", argv[i - 1], argv[i]);
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string_view first = argc > 1 ? argv[1] : "";
    if (first == "--help" || first == "-h") {
        usage();
        return 0;
    }
    auto o = parse(argc, argv);
    if (!o) {
        usage();
        return 2;
    }
    // The histogram and receive buffer make this object ~120 KiB: keep it off the stack.
    auto generator = std::make_unique<load>(*o);
    if (!generator->connect_all()) {
        return 1;
    }
    return generator->run();
}
