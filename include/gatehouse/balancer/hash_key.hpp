// What ip_hash hashes: the client address, whole for IPv4, its /64 for IPv6.
#pragma once

#include <gatehouse/config/cidr.hpp>

#include <cstdint>

namespace gatehouse::balancer {

/// A well-mixed 64-bit value (splitmix64 finaliser).
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/// The ip_hash key of a client: the whole IPv4 address, or the /64 network of an IPv6 one (a host's privacy
/// addresses change inside its /64), so one client keeps one node, and an office behind one /24 does not.
std::uint64_t client_key(const config::ip_bytes& address) noexcept;

}  // namespace gatehouse::balancer
