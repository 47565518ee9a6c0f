// Rewriting heads between client and node: hop-by-hop removal, re-framing and X-Forwarded-*.
#pragma once

#include <gatehouse/config/cidr.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/proxy/request_checks.hpp>

#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// What gatehouse saw of the client connection, used to write the forwarded headers.
struct forward_context {
    std::string_view peer_ip;      ///< socket peer address, e.g. "127.0.0.1"
    bool peer_trusted = false;     ///< peer is in [proxy] trusted_proxies: its X-Forwarded-* are kept and appended to
    std::string_view client_ip;    ///< the client's address (== peer_ip unless the peer is trusted)
    std::string_view scheme = "http";
    std::string_view request_id;   ///< sent as X-Request-Id when the request carries none
    std::string_view strip_cookie; ///< a cookie name removed from Cookie headers (the maintenance bypass secret)
};

/// `cookies` (a Cookie header value) without the cookies named `name`; "" when nothing is left.
std::string without_cookie(std::string_view cookies, std::string_view name);

/// The client address: the peer, or when the peer is trusted, the right-most X-Forwarded-For entry that is not.
/// Returns a view into `peer_ip` or into `forwarded_for`.
std::string_view client_address(std::string_view peer_ip, std::string_view forwarded_for,
                                std::span<const config::cidr> trusted) noexcept;

/// True when `ip` (text) lies in one of `trusted`.
bool is_trusted(std::string_view ip, std::span<const config::cidr> trusted) noexcept;

/// Appends the head sent to the node: request line in HTTP/1.1, every end-to-end field unchanged, hop-by-hop
/// fields (Connection and what it lists, Keep-Alive, TE, Trailer, Upgrade, Proxy-*, Expect) removed, exactly one
/// framing field, and X-Forwarded-For/-Proto/-Host and X-Real-IP replaced (or, for a trusted peer, appended to).
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
};

/// Appends the head sent to the client for a node's response, hop-by-hop fields removed and framing rebuilt.
void write_client_response_head(std::string& out, const http::response_header<>& response,
                                const response_head_options& options);

}  // namespace gatehouse::proxy
