// Who the client is: the socket peer, or behind proxy.trusted_proxies the right-most untrusted X-Forwarded-For entry.
#pragma once

#include <gatehouse/config/cidr.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

enum class client_kind {
    peer,       ///< the socket peer is the client (not a trusted proxy, or a trusted one that forwarded nobody)
    forwarded,  ///< an X-Forwarded-For entry vouched for by trusted hops
    unknown,    ///< a trusted peer sent a chain with an entry that is not an address: nobody can say who it is
};

/// The client of one request, as gatehouse decided it. Views point into the peer text and the request head.
struct client_origin {
    client_kind kind = client_kind::peer;
    /// The client's address: the peer's text (peer), an X-Forwarded-For entry without port or brackets
    /// (forwarded), "" (unknown).
    std::string_view address;
    /// The parsed address with `forwarded` (the caller already knows the peer's); nullopt otherwise.
    std::optional<config::ip_bytes> ip;
    /// With `forwarded`: the trusted hops right of the client, left to right and ending with the peer,
    /// ", "-separated, without ports. "" otherwise.
    std::string hops;
    /// The socket peer is in proxy.trusted_proxies (whatever its X-Forwarded-For said).
    bool peer_trusted = false;

    bool known() const noexcept { return kind != client_kind::unknown; }
};

/// The address in one X-Forwarded-For entry: "192.0.2.1", "192.0.2.1:5555", "2001:db8::1", "[2001:db8::1]" or
/// "[2001:db8::1]:443", without brackets and port. nullopt when the entry is none of these ("unknown", garbage).
std::optional<std::string_view> forwarded_entry_address(std::string_view entry) noexcept;

/// True when `ip` (text) lies in one of `networks`.
bool is_trusted(std::string_view ip, std::span<const config::cidr> networks) noexcept;

/// The socket peer as the client (a peer not in proxy.trusted_proxies): nothing read, nothing allocated.
client_origin peer_client(std::string_view peer) noexcept;

/// The client behind a trusted peer. `forwarded_for` holds every X-Forwarded-For line of the request, in order;
/// they form one list, read from the right: each trusted entry vouches for the one left of it, the first untrusted
/// entry is the client (the left-most one when every entry is trusted; the peer when there is none). An entry that
/// is not an address before the client is found makes the client unknown. Empty list elements are skipped.
client_origin resolve_forwarded(std::string_view peer, std::span<const std::string_view> forwarded_for,
                                std::span<const config::cidr> trusted);

/// The client: the peer itself unless it is in `trusted`, then resolve_forwarded.
client_origin resolve_client(std::string_view peer, std::span<const std::string_view> forwarded_for,
                             std::span<const config::cidr> trusted);

/// The address sent to the node as X-Real-IP and as the first X-Forwarded-For entry: the client, or the peer when
/// the client is unknown (the node then sees what gatehouse itself can vouch for).
std::string_view forwarded_client(const client_origin& origin, std::string_view peer) noexcept;

/// The client as the access log writes it: its address, or "unknown".
std::string_view logged_client(const client_origin& origin) noexcept;

/// True when the client is known and lies in one of `networks` (an unknown client is in none).
bool client_in(const client_origin& origin, std::string_view peer, std::span<const config::cidr> networks) noexcept;

}  // namespace gatehouse::proxy
