#pragma once
// Error values of covet::ws operations (category "covet.ws"). A connection
// that ends reports one of these from read() and send(); close_code() on the
// connection then tells the status that was sent or received.

#include <system_error>
#include <type_traits>

namespace covet::ws {

enum class error {
    /// The close handshake finished (or the peer sent a close frame): a normal end.
    closed = 1,
    /// The connection is closed or failed; no more frames can be sent.
    not_open,
    /// The peer broke RFC 6455 (the connection was failed with 1002).
    protocol_error,
    /// A text message or close reason was not UTF-8 (failed with 1007).
    invalid_utf8,
    /// A message was over the size limit (failed with 1009).
    message_too_big,
    /// The send queue was full and the policy is `drop`: this message was not queued.
    queue_full,
    /// The send queue was full and the policy is `close`: the connection was failed with 1008.
    policy_violation,
    /// The peer did not answer a keep-alive ping in time.
    dead_peer,
    /// The opening handshake failed (bad status, missing or wrong headers).
    handshake_failed,
    /// A send while a streamed message (send_fragment) is unfinished, or a bad argument.
    invalid_argument,
};

const std::error_category& ws_category() noexcept;

inline std::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), ws_category()};
}

}  // namespace covet::ws

template <>
struct std::is_error_code_enum<covet::ws::error> : std::true_type {
};
