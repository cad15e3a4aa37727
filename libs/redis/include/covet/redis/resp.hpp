#pragma once
// RESP, the Redis protocol (RESP2 and RESP3): a strict incremental parser and
// the command encoder. No I/O. Hand-written rather than hiredis's reader
// because Debian 12's hiredis (0.14) reads RESP2 only, and a parser this small
// is easy to make strict and to fuzz (libs/redis/fuzz).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace covet::redis {

enum class type : std::uint8_t {
    simple_string,  // +OK
    error,          // -ERR ... and RESP3 blob errors (!)
    integer,        // :42
    bulk_string,    // $5 hello
    null,           // $-1, *-1, _
    array,          // *
    number,         // RESP3 double (,)
    boolean,        // RESP3 #t / #f
    big_number,     // RESP3 (
    verbatim,       // RESP3 = (text without its "txt:" format)
    map,            // RESP3 % (elements: key, value, key, value...)
    set,            // RESP3 ~
    push,           // RESP3 >
};

/// One reply. Strings (simple, error, bulk, big number, verbatim) are in
/// `text`; integers and booleans (0/1) in `integer`; doubles in `number`;
/// aggregates in `elements`.
struct value {
    redis::type type = type::null;
    std::string text{};
    std::int64_t integer = 0;
    double number = 0;
    std::vector<value> elements{};

    bool is_null() const noexcept { return type == type::null; }
    bool is_error() const noexcept { return type == type::error; }
    bool is_string() const noexcept
    {
        return type == type::simple_string || type == type::bulk_string || type == type::verbatim;
    }
};

struct parse_limits {
    std::size_t max_depth = 32;
    std::size_t max_bulk = 512u << 20;     // Redis's own proto-max-bulk-len
    std::size_t max_elements = 16u << 20;  // per aggregate
};

enum class parse_status { complete, incomplete, invalid };

/// Parses one reply from the front of `input`. complete: `out` holds it and
/// `used` the bytes it took. incomplete: more bytes are needed (call again
/// with the same bytes plus more). invalid: not RESP (or over a limit); the
/// connection cannot be trusted any more.
parse_status parse(std::string_view input, value& out, std::size_t& used, const parse_limits& limits = {});

/// Appends one command in RESP (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::span<const std::string> args);
inline void append_command(std::string& out, std::initializer_list<std::string_view> args)
{
    append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

}  // namespace covet::redis
