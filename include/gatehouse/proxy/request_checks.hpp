// What Beast 1.81's parser lets through and a proxy must refuse: request framing, Host and target checks.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace gatehouse::proxy {

/// How a request body is delimited once the head is accepted.
enum class body_framing { none, content_length, chunked };

struct request_verdict {
    http::status status = http::status::ok;  ///< ok = accepted; otherwise the answer to give, then close
    std::string_view reason;                 ///< short text for the log and the error body
    body_framing framing = body_framing::none;
    std::uint64_t content_length = 0;        ///< with framing content_length

    bool accepted() const noexcept { return status == http::status::ok; }
};

/// Checks a parsed request head (RFC 9112 framing and the smuggling vectors listed in BEAST-NOTES):
/// one Transfer-Encoding at most, equal to "chunked", never with Content-Length nor in HTTP/1.0;
/// exactly one Host in HTTP/1.1, made of host and port characters only (no space or control byte); an origin-form target (or "*" for OPTIONS) of visible ASCII without '#';
/// no CONNECT; Content-Length not above `max_body` (0 = unlimited).
request_verdict check_request(const http::request_header<>& head, std::uint64_t max_body) noexcept;

/// True for GET, HEAD, OPTIONS, PUT and DELETE: a retry cannot repeat a side effect. RFC 9110 also counts TRACE;
/// gatehouse does not (nothing needs it sent twice), so exactly these five may ever go to a node again.
bool is_idempotent(http::verb method) noexcept;

}  // namespace gatehouse::proxy
