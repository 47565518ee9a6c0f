// Parsing of IP addresses and CIDR prefixes (inet_pton, IPv4 stored IPv4-mapped) and prefix matching.
#include <gatehouse/config/cidr.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace gatehouse::config {

namespace {

constexpr unsigned v4_mapped_offset = 96;  // bits before the IPv4 part of ::ffff:a.b.c.d

/// The address and whether it was written as IPv4.
struct parsed_ip {
    ip_bytes bytes{};
    bool is_v4 = false;
};

std::optional<parsed_ip> parse_ip_family(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    const std::string terminated(text);  // inet_pton needs a NUL-terminated string
    parsed_ip out;
    in_addr v4{};
    if (inet_pton(AF_INET, terminated.c_str(), &v4) == 1) {
        out.bytes[10] = 0xff;
        out.bytes[11] = 0xff;
        std::memcpy(out.bytes.data() + 12, &v4, 4);
        out.is_v4 = true;
        return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, terminated.c_str(), &v6) == 1) {
        std::memcpy(out.bytes.data(), &v6, 16);
        return out;
    }
    return std::nullopt;
}

/// Clears every bit after the first `prefix_length`.
void mask(ip_bytes& bytes, unsigned prefix_length) {
    for (unsigned i = 0; i < bytes.size(); ++i) {
        const unsigned first_bit = i * 8;
        if (prefix_length >= first_bit + 8) continue;
        const unsigned keep = prefix_length > first_bit ? prefix_length - first_bit : 0;
        bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
    }
}

}  // namespace

std::optional<ip_bytes> parse_ip(std::string_view text) {
    auto ip = parse_ip_family(text);
    if (!ip) return std::nullopt;
    return ip->bytes;
}

bool cidr::contains(const ip_bytes& address) const noexcept {
    ip_bytes masked = address;
    mask(masked, prefix_length);
    return masked == network;
}

std::optional<cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    auto ip = parse_ip_family(text.substr(0, slash));
    if (!ip) return std::nullopt;

    const unsigned max_length = ip->is_v4 ? 32 : 128;
    unsigned length = max_length;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3 || digits.front() < '0' || digits.front() > '9') return std::nullopt;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (ec != std::errc{} || end != digits.data() + digits.size() || length > max_length) return std::nullopt;
    }

    cidr out;
    out.prefix_length = ip->is_v4 ? v4_mapped_offset + length : length;
    out.network = ip->bytes;
    mask(out.network, out.prefix_length);
    out.text = std::string(text);
    return out;
}

}  // namespace gatehouse::config
