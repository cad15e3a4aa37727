#pragma once
// covet::result<T>: a value or a std::error_code. The error model of every hot
// path in covet: expected failures (end of stream, timeouts, malformed input)
// travel as values, never as exceptions. `value()` is the convenience layer and
// throws std::system_error when there is no value.

#include <covet/base/error.hpp>

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace covet {

template <class T>
class [[nodiscard]] result {
    static_assert(!std::is_reference_v<T>, "result<T&> is not supported; use a pointer");
    static_assert(!std::is_same_v<std::decay_t<T>, std::error_code>, "result<std::error_code> is ambiguous");

public:
    using value_type = T;

    /// A value-initialized T (as std::expected does), or errc::no_result when
    /// T has no default constructor. Exists because coroutine machinery (Asio's
    /// co_spawn) needs default-constructible results.
    result() : storage_(make_default()) {}

    template <class U = T,
              std::enable_if_t<std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, result> &&
                                   !std::is_error_code_enum_v<std::decay_t<U>> &&
                                   !std::is_same_v<std::decay_t<U>, std::error_code>,
                               int> = 0>
    result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value))
    {
    }

    result(std::error_code ec) : storage_(std::in_place_index<1>, ec)
    {
        assert(ec && "a result built from an error code needs a non-zero code");
    }

    template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
    result(E e) : result(std::error_code(make_error_code(e)))
    {
    }

    bool has_value() const noexcept { return storage_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The error; a default (success) code when there is a value.
    std::error_code error() const noexcept { return has_value() ? std::error_code{} : std::get<1>(storage_); }

    T& value() &
    {
        throw_if_error();
        return std::get<0>(storage_);
    }
    const T& value() const&
    {
        throw_if_error();
        return std::get<0>(storage_);
    }
    T&& value() &&
    {
        throw_if_error();
        return std::get<0>(std::move(storage_));
    }

    /// Unchecked access: precondition has_value().
    T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
    const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
    T&& operator*() && noexcept { return std::move(*std::get_if<0>(&storage_)); }
    T* operator->() noexcept { return std::get_if<0>(&storage_); }
    const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

    template <class U>
    T value_or(U&& fallback) const&
    {
        return has_value() ? std::get<0>(storage_) : static_cast<T>(std::forward<U>(fallback));
    }

private:
    static std::variant<T, std::error_code> make_default()
    {
        if constexpr (std::is_default_constructible_v<T>) {
            return std::variant<T, std::error_code>(std::in_place_index<0>);
        } else {
            return std::variant<T, std::error_code>(std::in_place_index<1>, make_error_code(errc::no_result));
        }
    }

    void throw_if_error() const
    {
        if (!has_value()) {
            throw std::system_error(std::get<1>(storage_));
        }
    }

    std::variant<T, std::error_code> storage_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() noexcept = default;
    result(std::error_code ec) noexcept : ec_(ec) {}
    template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
    result(E e) noexcept : ec_(make_error_code(e))
    {
    }

    bool has_value() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return has_value(); }
    std::error_code error() const noexcept { return ec_; }
    void value() const
    {
        if (ec_) {
            throw std::system_error(ec_);
        }
    }

private:
    std::error_code ec_;
};

}  // namespace covet
