#pragma once
// Errors of covet::json are values: a parse or a validation returns every
// problem it found, each with the exact location in the document, a machine
// readable kind and a human message, e.g. `$.users[3].email: expected string,
// got number`. No exception is thrown on the parse path.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace covet::json {

/// What went wrong. The names (kind_name) follow pydantic's error types where
/// one exists, so a FastAPI client sees familiar values.
enum class error_kind : std::uint8_t {
    syntax,         ///< malformed JSON ("json_invalid")
    utf8,           ///< invalid UTF-8 in the input ("json_invalid")
    depth,          ///< nesting deeper than parse_options::max_depth
    size,           ///< input larger than parse_options::max_size
    type,           ///< a JSON type the C++ type cannot take
    range,          ///< a number outside the C++ type's range
    missing,        ///< a required field is absent
    unknown_field,  ///< a field the type does not declare (unknown_fields::reject)
    duplicate_key,  ///< a key that appears twice in one object
    invalid_value,  ///< right JSON type, wrong value (enum name, date, discriminator, array length)
    too_small,      ///< validation: below min()
    too_large,      ///< validation: above max()
    too_short,      ///< validation: below min_length()
    too_long,       ///< validation: above max_length()
    pattern,        ///< validation: pattern() does not match
    email,          ///< validation: not an e-mail address
    one_of,         ///< validation: not one of the allowed values
    custom,         ///< validation: a check() predicate failed
};

/// The pydantic-style type name of an error kind ("missing", "string_too_short", ...).
std::string_view kind_name(error_kind kind) noexcept;

/// One step of a location: an object key or an array index.
using path_element = std::variant<std::string, std::size_t>;

/// One problem found in a document.
struct error {
    std::vector<path_element> loc;  ///< from the root; empty for the document itself
    error_kind kind = error_kind::syntax;
    std::string message;  ///< e.g. "expected string, got number"

    /// The location as a JSONPath, `$.users[3].email` (keys that are not
    /// identifiers are quoted: `$["a b"]`).
    std::string path() const;
    /// `path(): message`.
    std::string to_string() const;
};

using error_list = std::vector<error>;

class writer;

/// Appends one `{"loc":[prefix?, loc...],"msg":...,"type":...}` item of a 422
/// body to `w` (`first`: no leading comma). Shared by error_body() and the
/// web layer's errors for path/query/header values.
void write_error_item(writer& w, bool first, std::string_view prefix, std::span<const path_element> loc,
                      std::string_view msg, std::string_view type);

/// A FastAPI-shaped 422 body:
/// `{"detail":[{"loc":["body","users",3,"email"],"msg":"...","type":"..."}]}`.
/// @param prefix first element of every loc ("body", "query", ...); empty for none.
std::string error_body(std::span<const error> errors, std::string_view prefix = "body");

/// The result of parsing into T: the value, or every error that was found.
template <class T>
class [[nodiscard]] parse_result {
public:
    parse_result(T value) : value_(std::move(value)), ok_(true) {}
    parse_result(error_list errors) : errors_(std::move(errors)) {}

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    /// Precondition: has_value().
    T& operator*() & noexcept { return value_; }
    const T& operator*() const& noexcept { return value_; }
    T&& operator*() && noexcept { return std::move(value_); }
    T* operator->() noexcept { return &value_; }
    const T* operator->() const noexcept { return &value_; }
    /// Every error found (empty on success).
    const error_list& errors() const noexcept { return errors_; }

private:
    T value_{};
    error_list errors_;
    bool ok_ = false;
};

}  // namespace covet::json
