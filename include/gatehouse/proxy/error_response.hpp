// The short answers gatehouse gives itself (400, 408, 413, 414, 431, 502, 504, ...).
#pragma once

#include <gatehouse/net.hpp>

#include <boost/beast/http/status.hpp>

#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// A complete response gatehouse gives itself: status line, Content-Type, Cache-Control: no-store, X-Request-Id
/// when known, `extra_fields` (whole "Name: value\r\n" lines), Content-Length of `body`, "Connection: close"
/// unless `keep_alive`, then the body unless `with_body` is false (HEAD).
std::string own_response(http::status status, std::string_view content_type, std::string_view body,
                         std::string_view request_id, bool keep_alive, std::string_view extra_fields = {},
                         bool with_body = true);

/// A complete HTTP/1.1 response: status line, text/plain body "<code> <reason>: <detail>\n", X-Request-Id when
/// known, and "Connection: close" unless `keep_alive`. A 5xx body is "<code> <reason>\n" alone: its detail names
/// a node, an address or a socket error, which the client never sees (the event log has it). A 4xx detail says
/// what was wrong with the client's own request and is kept.
std::string error_response(http::status status, std::string_view detail, std::string_view request_id, bool keep_alive);

/// Adds the field "name: value" to a complete response made by the functions above, right after its status line.
void add_field(std::string& response, std::string_view name, std::string_view value);

}  // namespace gatehouse::proxy
