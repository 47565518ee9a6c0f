// An IPv4 or IPv6 network prefix ("10.0.0.0/8", "::1/128") and the test of an address against it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::config {

/// An IP address in network byte order; IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d).
using ip_bytes = std::array<std::uint8_t, 16>;

/// Parses "1.2.3.4" or "::1" (no brackets, no port). Returns nullopt when it is not an IP address.
std::optional<ip_bytes> parse_ip(std::string_view text);

struct cidr {
    ip_bytes network{};     ///< masked to prefix_length
    unsigned prefix_length = 0;  ///< counted over the 128-bit (mapped) form
    std::string text;       ///< as written

    /// True when `address` lies inside this network.
    bool contains(const ip_bytes& address) const noexcept;
};

/// Parses "10.0.0.0/8", "fd00::/8" or a bare address (a /32 or /128). Returns nullopt when malformed.
std::optional<cidr> parse_cidr(std::string_view text);

}  // namespace gatehouse::config
