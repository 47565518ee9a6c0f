// Whether a request may become a WebSocket tunnel, and whether a node's answer switched to one (pure rules).
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/request_checks.hpp>

#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <string_view>

namespace gatehouse::proxy {

/// What a request asks for: nothing, a valid WebSocket upgrade (RFC 6455 4.1), or an upgrade it may not have.
/// A request that asks (`Upgrade: websocket`) but may not have it is proxied as a plain request, without its
/// upgrade fields (the node answers it as it would any GET: NocoBase serves its page, or refuses).
enum class upgrade_request : std::uint8_t {
    none,                ///< no `Upgrade: websocket` field
    websocket,           ///< valid: the node gets `Connection: upgrade` and `Upgrade: websocket`
    not_get,             ///< the method is not GET
    http10,              ///< HTTP/1.0 has no upgrade
    no_connection_token, ///< `Connection` does not list `upgrade`
    bad_key,             ///< not exactly one `Sec-WebSocket-Key` of 24 base64 characters (16 bytes)
    bad_version,         ///< not exactly one `Sec-WebSocket-Version` (its value is the node's to judge)
    with_body,           ///< the request has a body (the bytes after the head would be ambiguous)
};

/// The decision for one checked request head (framing from check_request).
upgrade_request websocket_upgrade_of(const http::request_header<>& head, body_framing framing) noexcept;

/// Why a request that asks for an upgrade is proxied without it, for the log ("" for none and websocket).
std::string_view to_string(upgrade_request r) noexcept;

/// True when a node's 101 answer switches to WebSocket: `Upgrade` lists `websocket` and `Connection` lists
/// `upgrade`. Any other 101 is an invalid answer to a WebSocket upgrade.
bool switches_to_websocket(const http::response_header<>& head) noexcept;

/// True when `piece` (what one read of a tunnel returned) is exactly one WebSocket close frame (RFC 6455 5.5.1:
/// FIN + opcode 8, at most 125 bytes of payload, masked or not). gatehouse does not parse the frames it tunnels;
/// a close frame nearly always comes alone, so this tells the access log who began the closing handshake. A close
/// frame read together with other bytes is not recognised (the log then names whose FIN came first).
bool is_close_frame(std::string_view piece) noexcept;

}  // namespace gatehouse::proxy
