// covet::http microbenchmarks, with the peers in the same binary:
//   request parsing: covet vs node's http-parser (libhttp-parser) vs Boost.Beast
//   response head serialization
//   allocations per request on a keep-alive connection of a running server
#include <covet/http/detail/serialize.hpp>
#include <covet/http/parser.hpp>
#include <covet/http/server.hpp>

#include <benchmark/benchmark.h>
#include <http_parser.h>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

// Counts every allocation in the process (for the steady-state check).
#include "counting_new.hpp"

namespace {

// What wrk sends for TechEmpower's plaintext test (4 fields, ~200 bytes).
const std::string techempower_request =
    "GET /plaintext HTTP/1.1\r\n"
    "Host: tfb-server:8080\r\n"
    "User-Agent: Mozilla/5.0 (wrk)\r\n"
    "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n"
    "Connection: keep-alive\r\n\r\n";

// A browser navigation (12 fields, ~700 bytes).
const std::string browser_request =
    "GET /articles/2026/11/coroutines-in-practice?utm_source=newsletter&ref=home HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=3f2a9c1e7b5d4a60; theme=dark; consent=granted\r\n\r\n";

const std::string& request_for(const benchmark::State& state)
{
    return state.range(0) == 0 ? techempower_request : browser_request;
}

void label(benchmark::State& state)
{
    state.SetLabel(state.range(0) == 0 ? "techempower" : "browser");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request_for(state).size()));
}

void BM_parse_covet(benchmark::State& state)
{
    const std::string& request = request_for(state);
    covet::http::request_parser parser;
    for (auto _ : state) {
        parser.reset();
        auto st = parser.parse(request);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(parser.head().headers.data());
    }
    label(state);
}
BENCHMARK(BM_parse_covet)->Arg(0)->Arg(1);

// http-parser with callbacks that record the same views covet produces.
struct hp_capture {
    std::string_view url;
    std::string_view names[32];
    std::string_view values[32];
    int fields = 0;
};

int on_url(http_parser* p, const char* at, std::size_t n)
{
    static_cast<hp_capture*>(p->data)->url = {at, n};
    return 0;
}
int on_field(http_parser* p, const char* at, std::size_t n)
{
    auto* c = static_cast<hp_capture*>(p->data);
    c->names[c->fields & 31] = {at, n};
    return 0;
}
int on_value(http_parser* p, const char* at, std::size_t n)
{
    auto* c = static_cast<hp_capture*>(p->data);
    c->values[c->fields++ & 31] = {at, n};
    return 0;
}

void BM_parse_http_parser(benchmark::State& state)
{
    const std::string& request = request_for(state);
    http_parser_settings settings{};
    settings.on_url = on_url;
    settings.on_header_field = on_field;
    settings.on_header_value = on_value;
    http_parser parser;
    hp_capture capture;
    for (auto _ : state) {
        capture.fields = 0;
        http_parser_init(&parser, HTTP_REQUEST);
        parser.data = &capture;
        auto n = http_parser_execute(&parser, &settings, request.data(), request.size());
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(capture);
    }
    label(state);
}
BENCHMARK(BM_parse_http_parser)->Arg(0)->Arg(1);

void BM_parse_beast(benchmark::State& state)
{
    namespace http = boost::beast::http;
    const std::string& request = request_for(state);
    for (auto _ : state) {
        http::request_parser<http::empty_body> parser;  // Beast parsers are single-use
        boost::beast::error_code ec;
        auto n = parser.put(boost::asio::buffer(request), ec);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(parser.get());
    }
    label(state);
}
BENCHMARK(BM_parse_beast)->Arg(0)->Arg(1);

void BM_serialize_response_head(benchmark::State& state)
{
    auto response = covet::http::response::static_text("Hello, World!");
    std::string out;
    out.reserve(1024);
    for (auto _ : state) {
        out.clear();
        covet::http::detail::serialize_head(response, out, {});
        out.append(response.body());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetLabel("Server, Date, Content-Type, Content-Length + body");
}
BENCHMARK(BM_serialize_response_head);

covet::task<covet::http::response> plaintext(covet::http::request&)
{
    co_return covet::http::response::static_text("Hello, World!");
}

// A running server (1 worker) and a blocking client that pipelines 16
// requests per write; counts operator new calls per request once warm.
void BM_server_allocations_per_request(benchmark::State& state)
{
    covet::net::runtime rt({.threads = 1, .offload_threads = 1, .handle_signals = false});
    covet::http::server_options options;
    options.listen.address = "127.0.0.1";
    auto server = covet::http::server::start(rt, options, plaintext);
    if (!server) {
        state.SkipWithError("listen failed");
        return;
    }
    rt.start();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        state.SkipWithError("connect failed");
        return;
    }
    constexpr int depth = 16;
    std::string batch;
    for (int i = 0; i < depth; ++i) {
        batch += "GET /plaintext HTTP/1.1\r\nHost: b\r\n\r\n";
    }
    std::string reply(1 << 16, '\0');
    auto round = [&] {
        ::write(fd, batch.data(), batch.size());
        int responses = 0;
        std::size_t have = 0;
        while (responses < depth) {
            ssize_t n = ::read(fd, reply.data() + have, reply.size() - have);
            if (n <= 0) {
                return false;
            }
            std::string_view got(reply.data(), have + static_cast<std::size_t>(n));
            responses = 0;
            for (auto pos = got.find("Hello, World!"); pos != std::string_view::npos;
                 pos = got.find("Hello, World!", pos + 1)) {
                ++responses;
            }
            have += static_cast<std::size_t>(n);
        }
        return true;
    };
    for (int i = 0; i < 200; ++i) {
        round();  // warm up buffers and Asio's recycling allocators
    }
    const auto before = covet::testing::allocations();
    std::int64_t requests = 0;
    for (auto _ : state) {
        if (!round()) {
            state.SkipWithError("connection lost");
            break;
        }
        requests += depth;
    }
    const auto after = covet::testing::allocations();
    state.counters["allocs_per_request"] =
        requests > 0 ? static_cast<double>(after - before) / static_cast<double>(requests) : -1;
    state.SetItemsProcessed(requests);
    ::close(fd);
    rt.request_stop();
    rt.join();
}
BENCHMARK(BM_server_allocations_per_request)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
