#pragma once
// A throwaway redis-server for one test: a free loopback port, a temp
// directory, no persistence; stopped (SIGTERM, then SIGKILL) on destruction.
// Without redis-server the test is skipped, except under CI=true, where that
// is a failure.

#include <doctest/doctest.h>
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

inline bool ci() noexcept
{
    const char* v = std::getenv("CI");
    return v != nullptr && std::string(v) == "true";
}

inline std::string find_redis_server()
{
    for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
        if (::access(p, X_OK) == 0) {
            return p;
        }
    }
    return {};
}

inline std::uint16_t free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline bool accepts(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

class redis_server {
public:
    redis_server()
    {
        binary_ = find_redis_server();
        if (binary_.empty()) {
            if (ci()) {
                FAIL("redis-server is not installed (CI=true): run tools/install-deps.sh");
            }
            MESSAGE("redis-server not found: skipping (install Debian's redis-server)");
            return;
        }
        dir_ = covet::testing::make_temp_dir("covet-redis").string();
        port_ = free_port();
        start();
    }
    ~redis_server()
    {
        stop();
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    bool available() const noexcept { return pid_ > 0; }
    std::uint16_t port() const noexcept { return port_; }

    void start()
    {
        const std::string port = std::to_string(port_);
        const std::string log = dir_ + "/redis.log";
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execl(binary_.c_str(), binary_.c_str(), "--port", port.c_str(), "--bind", "127.0.0.1", "--save",
                    "", "--appendonly", "no", "--dir", dir_.c_str(), "--enable-debug-command", "yes",
                    "--logfile", log.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!accepts(port_)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
                pid_ = -1;
                FAIL("redis-server did not start on port " << port_);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    void stop()
    {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
    }

private:
    std::string binary_;
    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace test_support
