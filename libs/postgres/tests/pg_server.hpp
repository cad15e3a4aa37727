#pragma once
// A throwaway PostgreSQL 15 for the tests: initdb into a temp dir, listen only
// on a unix socket there, trust auth, stopped at exit. Runs the server as the
// `postgres` system user when the tests run as root (initdb refuses root).
// Without the binaries: a skip, or a failure when CI=true.

#include <doctest/doctest.h>
#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

namespace pgtest {

inline const std::string bin_dir = "/usr/lib/postgresql/15/bin";

inline bool in_ci()
{
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

class server {
public:
    server()
    {
        if (!std::filesystem::exists(bin_dir + "/initdb")) {
            return;
        }
        dir_ = covet::testing::make_temp_dir("covet-pg").string();
        as_user_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
        if (!as_user_.empty() && !run("chown postgres: '" + dir_ + "'")) {
            return;
        }
        if (!run(as_user_ + bin_dir + "/initdb -D '" + dir_ +
                 "/data' -A trust -U postgres -E UTF8 --no-sync")) {
            return;
        }
        started_ = start();
    }
    ~server()
    {
        if (started_) {
            run(as_user_ + bin_dir + "/pg_ctl -D '" + dir_ + "/data' -m immediate -w stop");
        }
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    bool running() const { return started_; }
    std::string url() const
    {
        return "postgresql://postgres@/postgres?host=" + dir_ + "&application_name=covet-tests";
    }
    const std::string& dir() const { return dir_; }

    /// pg_ctl restart -m fast: every connection is terminated (57P01).
    bool restart()
    {
        return run(as_user_ + bin_dir + "/pg_ctl -D '" + dir_ + "/data' -m fast -w -t 30 -l '" + dir_ +
                   "/log' restart -o \"" + options() + "\"");
    }

private:
    std::string options() const
    {
        return "-k '" + dir_ + "' -c listen_addresses='' -c fsync=off -c full_page_writes=off";
    }
    bool start()
    {
        return run(as_user_ + bin_dir + "/pg_ctl -D '" + dir_ + "/data' -w -t 30 -l '" + dir_ +
                   "/log' -o \"" + options() + "\" start");
    }
    bool run(const std::string& cmd) const
    {
        const std::string quiet = cmd + " >>'" + (dir_.empty() ? std::string("/dev") : dir_) +
                                  (dir_.empty() ? "/null" : "/commands.log") + "' 2>&1";
        return std::system(quiet.c_str()) == 0;
    }

    std::string dir_;
    std::string as_user_;
    bool started_ = false;
};

/// The process-wide server (started on first use, stopped at exit).
inline server* shared()
{
    static std::unique_ptr<server> s = std::make_unique<server>();
    return s->running() ? s.get() : nullptr;
}

}  // namespace pgtest

/// At the top of a test: the server, or skip (fail under CI=true) without one.
#define PG_SERVER_OR_SKIP(var)                                                            \
    auto* var = pgtest::shared();                                                         \
    if (var == nullptr) {                                                                 \
        if (pgtest::in_ci()) {                                                            \
            FAIL("PostgreSQL 15 is required under CI=true (apt-get install postgresql)"); \
        }                                                                                 \
        MESSAGE("PostgreSQL 15 not available (" << pgtest::bin_dir << "): test skipped"); \
        return;                                                                           \
    }
