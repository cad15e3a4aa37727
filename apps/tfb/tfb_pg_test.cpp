// The TFB database endpoints of the covet_tfb binary on a throwaway
// PostgreSQL 15: the schema is created and filled here, the binary runs with
// --db postgresql://... on a free loopback port, and the shared checks
// (tfb_db_checks.hpp, also run on SQLite) go over real sockets.
#include "pg_server.hpp"
#include "tfb_db.hpp"
#include "tfb_db_checks.hpp"

#include <covet/net/spawn.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

/// covet_tfb in a child process; its port is read from the line it prints.
class tfb_process {
public:
    explicit tfb_process(const std::string& db_url)
    {
        int out[2];
        REQUIRE(::pipe(out) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(COVET_TFB_BINARY, COVET_TFB_BINARY, "--address", "127.0.0.1", "--port", "0", "--threads",
                    "2", "--db", db_url.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];
        try {
            port_ = read_port();
        } catch (...) {
            stop();  // a failed REQUIRE: the destructor will not run
            throw;
        }
    }
    ~tfb_process() { stop(); }
    tfb_process(const tfb_process&) = delete;
    tfb_process& operator=(const tfb_process&) = delete;

    std::uint16_t port() const { return port_; }

private:
    void stop()
    {
        if (stdout_ >= 0) {
            ::close(stdout_);
            stdout_ = -1;
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
                std::this_thread::sleep_for(50ms);
            }
            if (::waitpid(pid_, &status, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
            }
            pid_ = -1;
        }
    }

    // "covet_tfb: http://127.0.0.1:PORT/ ...", within 30 s (seeding is done by then).
    std::uint16_t read_port()
    {
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            pollfd pfd{stdout_, POLLIN, 0};
            if (::poll(&pfd, 1, 200) <= 0) {
                continue;
            }
            char buf[256];
            const auto n = ::read(stdout_, buf, sizeof buf);
            if (n <= 0) {
                break;  // exited
            }
            line.append(buf, static_cast<std::size_t>(n));
        }
        INFO("covet_tfb printed: " << line);
        const auto at = line.find("127.0.0.1:");
        REQUIRE(at != std::string::npos);
        return static_cast<std::uint16_t>(std::stoul(line.substr(at + 10)));
    }

    pid_t pid_ = -1;
    int stdout_ = -1;
    std::uint16_t port_ = 0;
};

void create_schema(const std::string& url)
{
    covet::net::block_on([](std::string u) -> covet::task<void> {
        auto db = covet::orm::database::open(u);
        co_await db.execute("DROP TABLE IF EXISTS world; DROP TABLE IF EXISTS fortune");
        co_await covet::tfb::seed(db);
        CHECK(co_await db.count(covet::orm::select<covet::tfb::world>()) == covet::tfb::world_rows);
        CHECK(co_await db.count(covet::orm::select<covet::tfb::fortune>()) == 12);
        db.close();
    }(url));
}

}  // namespace

TEST_CASE("covet_tfb --db postgresql://: /db, /queries, /fortunes, /updates per the rules")
{
    PG_SERVER_OR_SKIP(server);
    create_schema(server->url());
    tfb_process tfb(server->url());
    covet::tfb::testing::check_db_endpoints(tfb.port(), server->url());
}

TEST_CASE("covet_tfb --db postgresql://: /cached-queries match the database")
{
    PG_SERVER_OR_SKIP(server);
    create_schema(server->url());
    tfb_process tfb(server->url());
    covet::tfb::testing::check_cached_queries(tfb.port(), server->url());
}
