#include <covet/web/config.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace covet::web {

namespace {

constexpr std::array<std::string_view, 17> keys = {"address",
                                                   "port",
                                                   "threads",
                                                   "server_name",
                                                   "compression",
                                                   "max_body",
                                                   "max_headers",
                                                   "max_header_line",
                                                   "max_head_bytes",
                                                   "max_request_line",
                                                   "header_timeout_ms",
                                                   "body_timeout_ms",
                                                   "keep_alive_timeout_ms",
                                                   "write_timeout_ms",
                                                   "max_connections_per_worker",
                                                   "stop_timeout_ms",
                                                   "handle_signals"};

[[noreturn]] void bad_value(std::string_view key, std::string_view value, std::string_view expected)
{
    throw std::invalid_argument("config: " + std::string(key) + " = '" + std::string(value) + "': expected " +
                                std::string(expected));
}

template <class T>
T number(std::string_view key, std::string_view value)
{
    T out{};
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
        bad_value(key, value, "a non-negative integer in range");
    }
    return out;
}

bool boolean(std::string_view key, std::string_view value)
{
    if (value == "true" || value == "1" || value == "on" || value == "yes") {
        return true;
    }
    if (value == "false" || value == "0" || value == "off" || value == "no") {
        return false;
    }
    bad_value(key, value, "true or false");
}

std::chrono::milliseconds millis(std::string_view key, std::string_view value)
{
    return std::chrono::milliseconds(number<std::uint32_t>(key, value));
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

void config::set(std::string_view key, std::string_view value)
{
    auto& limits = server.limits;
    if (key == "address") {
        if (value.empty()) {
            bad_value(key, value, "an IP address");
        }
        address = std::string(value);
    } else if (key == "port") {
        port = number<std::uint16_t>(key, value);
    } else if (key == "threads") {
        threads = number<std::size_t>(key, value);
    } else if (key == "server_name") {
        server.server_name = std::string(value);
    } else if (key == "compression") {
        server.compression.enabled = boolean(key, value);
    } else if (key == "max_body") {
        limits.max_body = number<std::size_t>(key, value);
    } else if (key == "max_headers") {
        limits.max_headers = number<std::size_t>(key, value);
    } else if (key == "max_header_line") {
        limits.max_header_line = number<std::size_t>(key, value);
    } else if (key == "max_head_bytes") {
        limits.max_head_bytes = number<std::size_t>(key, value);
    } else if (key == "max_request_line") {
        limits.max_request_line = number<std::size_t>(key, value);
    } else if (key == "header_timeout_ms") {
        server.header_timeout = millis(key, value);
    } else if (key == "body_timeout_ms") {
        server.body_timeout = millis(key, value);
    } else if (key == "keep_alive_timeout_ms") {
        server.keep_alive_timeout = millis(key, value);
    } else if (key == "write_timeout_ms") {
        server.write_timeout = millis(key, value);
    } else if (key == "max_connections_per_worker") {
        server.max_connections_per_worker = number<std::size_t>(key, value);
    } else if (key == "stop_timeout_ms") {
        stop_timeout = millis(key, value);
    } else if (key == "handle_signals") {
        handle_signals = boolean(key, value);
    } else {
        throw std::invalid_argument("config: unknown key '" + std::string(key) + "'");
    }
}

void config::load_string(std::string_view text, std::string_view source)
{
    std::size_t line_no = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++line_no;
        if (const auto hash = line.find('#'); hash != std::string_view::npos) {
            line = line.substr(0, hash);
        }
        line = trim(line);
        if (line.empty()) {
            continue;
        }
        const auto eq = line.find('=');
        const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
        if (eq == std::string_view::npos) {
            throw std::invalid_argument(where + "expected key = value");
        }
        try {
            set(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(where + e.what());
        }
    }
}

void config::load_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::invalid_argument("config: cannot read '" + path + "'");
    }
    std::ostringstream text;
    text << in.rdbuf();
    load_string(text.str(), path);
}

void config::load_env(std::string_view prefix)
{
    for (std::string_view key : keys) {
        std::string name(prefix);
        for (char c : key) {
            name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (const char* value = std::getenv(name.c_str())) {
            try {
                set(key, value);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(name + ": " + e.what());
            }
        }
    }
}

}  // namespace covet::web
