// Rewriting heads between client and node: hop-by-hop removal, re-framing and X-Forwarded-*.
#pragma once

#include <gatehouse/config/cidr.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/proxy/client_address.hpp>
#include <gatehouse/proxy/request_checks.hpp>

#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// What gatehouse saw of the client connection, used to write the forwarded headers.
struct forward_context {
    std::string_view peer_ip;          ///< socket peer address, e.g. "127.0.0.1"
    std::string_view client_ip;        ///< sent as X-Real-IP and first in X-Forwarded-For (forwarded_client())
    std::string_view forwarded_hops;   ///< trusted hops after the client in X-Forwarded-For (client_origin::hops)
    bool keep_forwarded_host_proto = false;  ///< a trusted peer's X-Forwarded-Host/-Proto are kept (an option)
    std::string_view scheme = "http";
    std::string_view request_id;       ///< sent as X-Request-Id (the client's own lines are dropped)
    std::string_view strip_cookie;     ///< a cookie name removed from Cookie headers (the maintenance bypass secret)
    /// A valid WebSocket upgrade (websocket_upgrade.hpp): the node gets `Connection: upgrade` and
    /// `Upgrade: websocket` (otherwise both are hop-by-hop and dropped like the rest).
    bool websocket_upgrade = false;
};

/// `cookies` (a Cookie header value) without the cookies named `name`; "" when nothing is left.
std::string without_cookie(std::string_view cookies, std::string_view name);

/// The client of `request` (see resolve_client in client_address.hpp): every X-Forwarded-For line is read, in
/// order, only when `peer_ip` is in `trusted`.
client_origin resolve_client(std::string_view peer_ip, const http::request_header<>& request,
                             std::span<const config::cidr> trusted);

/// True when a client's X-Request-Id may be kept: 1 to 128 of A-Z a-z 0-9 . _ -
bool is_sane_request_id(std::string_view id) noexcept;

/// Appends the head sent to the node: request line in HTTP/1.1, every end-to-end field unchanged, hop-by-hop
/// fields (Connection and what it lists, Keep-Alive, TE, Trailer, Upgrade, Proxy-*, Expect) removed, exactly one
/// framing field, X-Forwarded-For (`client_ip`, then `forwarded_hops`), X-Real-IP (`client_ip`) and X-Request-Id
/// replaced, X-Forwarded-Proto/-Host replaced unless `keep_forwarded_host_proto`; `Connection: upgrade` and
/// `Upgrade: websocket` for a `websocket_upgrade`.
void write_upstream_request_head(std::string& out, const http::request_header<>& request, const forward_context& ctx,
                                 body_framing framing, std::uint64_t content_length);

/// How the response body is delimited towards the client.
enum class response_framing { none, content_length, chunked, close_delimited };

struct response_head_options {
    response_framing framing = response_framing::none;
    std::uint64_t content_length = 0;   ///< with content_length (also kept on HEAD/304 answers when the node sent one)
    bool keep_alive = true;             ///< false: "Connection: close"
    bool client_http10 = false;         ///< an HTTP/1.0 client keeping alive needs "Connection: keep-alive"
    std::string_view request_id;        ///< added as X-Request-Id when the node sent none
    std::string_view strict_transport_security;  ///< tls.hsts: added when set and the node sent none
    /// A 101 switching to WebSocket: `Connection: upgrade` and `Upgrade: websocket`, no framing, no keep-alive field.
    bool switching_protocols = false;
    /// A gzipped answer (compression_policy.hpp): `Content-Encoding: gzip`, a strong ETag made weak, no
    /// `Accept-Ranges` (ranges of the gzip bytes are not served).
    bool gzip = false;
    /// `Vary: Accept-Encoding` added unless a Vary line of the node's already covers it.
    bool vary_accept_encoding = false;
};

/// Appends the head sent to the client for a node's response, hop-by-hop fields removed and framing rebuilt.
void write_client_response_head(std::string& out, const http::response_header<>& response,
                                const response_head_options& options);

}  // namespace gatehouse::proxy
