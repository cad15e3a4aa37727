#pragma once
// covet::json::writer: a growable output buffer with the JSON tokens on top.
// It does not track structure: the serializer (or you) says when a comma is
// due (`first` arguments), which keeps the compact path to a capacity check
// and a copy per token. Strings are escaped with SSE2 (SWAR elsewhere),
// numbers go through std::to_chars (shortest round-trip for floating point).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace covet::json {

/// Output formatting.
struct write_options {
    bool pretty = false;  ///< newlines and indentation
    int indent = 2;       ///< spaces per level when pretty
};

class writer {
public:
    explicit writer(write_options options = {}) noexcept : options_(options) {}
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;
    writer(writer&& other) noexcept;
    writer& operator=(writer&& other) noexcept;
    ~writer();

    /// Empties the buffer, keeping its capacity (reuse a writer to avoid allocations).
    void clear() noexcept
    {
        size_ = 0;
        depth_ = 0;
    }
    /// The bytes written so far; valid until the next write or clear().
    std::string_view view() const noexcept { return {data_, size_}; }
    std::string str() const { return std::string(data_, size_); }
    std::size_t size() const noexcept { return size_; }
    const write_options& options() const noexcept { return options_; }

    void begin_object() { open('{'); }
    /// Closes an object; `empty` when no key was written (pretty mode keeps `{}` on one line).
    void end_object(bool empty) { close('}', empty); }
    void begin_array() { open('['); }
    void end_array(bool empty) { close(']', empty); }

    /// Writes `,` unless first, then `"key":`. The key is escaped.
    void key(std::string_view k, bool first)
    {
        separator(first);
        string(k);
        colon();
    }
    /// key() for keys known not to need escaping (reflected field names).
    void plain_key(std::string_view k, bool first)
    {
        reserve(k.size() + 4 + line_reserve());
        if (!first) {
            data_[size_++] = ',';
        }
        if (options_.pretty) [[unlikely]] {
            newline();
        }
        data_[size_++] = '"';
        std::memcpy(data_ + size_, k.data(), k.size());
        size_ += k.size();
        data_[size_++] = '"';
        data_[size_++] = ':';
        if (options_.pretty) [[unlikely]] {
            data_[size_++] = ' ';
        }
    }
    /// Before an array element: `,` unless first (and a newline when pretty).
    void element(bool first) { separator(first); }

    /// A quoted, escaped string. The input is copied as is otherwise: it must be UTF-8.
    void string(std::string_view s);
    void boolean(bool b) { b ? raw("true") : raw("false"); }
    void null() { raw("null"); }
    template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) void number(I i)
    {
        if constexpr (std::is_signed_v<I>) {
            signed_number(static_cast<std::int64_t>(i));
        } else {
            unsigned_number(static_cast<std::uint64_t>(i));
        }
    }
    /// Shortest representation that reads back to the same double (with ".0"
    /// appended to integral values, so they read back as floating point); NaN
    /// and infinities (which JSON cannot express) are written as null.
    void number(double d);
    void number(float f);

    /// Appends bytes verbatim (pre-serialized JSON).
    void raw(std::string_view s)
    {
        reserve(s.size());
        std::memcpy(data_ + size_, s.data(), s.size());
        size_ += s.size();
    }
    void put(char c)
    {
        reserve(1);
        data_[size_++] = c;
    }
    /// Makes room for n more bytes.
    void reserve(std::size_t n)
    {
        if (capacity_ - size_ < n) [[unlikely]] {
            grow(n);
        }
    }

private:
    void open(char c)
    {
        put(c);
        ++depth_;
    }
    void close(char c, bool empty)
    {
        --depth_;
        if (options_.pretty && !empty) [[unlikely]] {
            reserve(line_reserve());
            newline();
        }
        put(c);
    }
    void separator(bool first)
    {
        reserve(1 + line_reserve());
        if (!first) {
            data_[size_++] = ',';
        }
        if (options_.pretty) [[unlikely]] {
            newline();
        }
    }
    void colon()
    {
        put(':');
        if (options_.pretty) [[unlikely]] {
            put(' ');
        }
    }
    std::size_t line_reserve() const noexcept
    {
        return options_.pretty ? 1 + static_cast<std::size_t>(depth_ * options_.indent) : 0;
    }
    // Precondition: line_reserve() bytes reserved.
    void newline() noexcept
    {
        data_[size_++] = '\n';
        auto n = static_cast<std::size_t>(depth_ * options_.indent);
        std::memset(data_ + size_, ' ', n);
        size_ += n;
    }
    void signed_number(std::int64_t i);
    void unsigned_number(std::uint64_t u);
    void keep_floating(char* end) noexcept;
    void grow(std::size_t n);

    char* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    int depth_ = 0;
    write_options options_;
};

}  // namespace covet::json
