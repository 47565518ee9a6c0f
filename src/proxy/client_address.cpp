// Resolving the client address through trusted proxies' X-Forwarded-For chains.
#include <gatehouse/proxy/client_address.hpp>

#include <gatehouse/proxy/field_lists.hpp>

#include <vector>

namespace gatehouse::proxy {
namespace {

/// True for 1-5 decimal digits with a value of at most 65535.
bool is_port(std::string_view digits) noexcept {
    if (digits.empty() || digits.size() > 5) return false;
    unsigned value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

/// The address `text` when it is an IPv6 address (`v6`, with a colon) or an IPv4 one (without); nullopt otherwise.
std::optional<config::ip_bytes> parse_ip_of_family(std::string_view text, bool v6) noexcept {
    if ((text.find(':') != std::string_view::npos) != v6) return std::nullopt;
    return config::parse_ip(text);
}

/// True when `ip` lies in one of `networks`.
bool in_any(const config::ip_bytes& ip, std::span<const config::cidr> networks) noexcept {
    for (const auto& net : networks)
        if (net.contains(ip)) return true;
    return false;
}

/// Calls `visit(element)` for each non-empty trimmed element of the lines, right to left (last line first);
/// stops when `visit` returns false.
template <class Visit>
void for_each_element_from_right(std::span<const std::string_view> lines, Visit visit) {
    for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
        std::string_view rest = *line;
        for (;;) {
            const auto comma = rest.rfind(',');
            const auto element = trim_ows(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
            if (!element.empty() && !visit(element)) return;
            if (comma == std::string_view::npos) break;
            rest = rest.substr(0, comma);
        }
    }
}

/// `hops_from_right` (collected right to left) joined left to right, then the peer.
std::string join_hops(const std::vector<std::string_view>& hops_from_right, std::string_view peer) {
    std::string out;
    for (auto it = hops_from_right.rbegin(); it != hops_from_right.rend(); ++it) out.append(*it).append(", ");
    out.append(peer);
    return out;
}

}  // namespace

std::optional<std::string_view> forwarded_entry_address(std::string_view entry) noexcept {
    if (entry.empty()) return std::nullopt;
    if (entry.front() == '[') {  // [v6] or [v6]:port
        const auto close = entry.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const auto inside = entry.substr(1, close - 1);
        const auto after = entry.substr(close + 1);
        if (!after.empty() && (after.front() != ':' || !is_port(after.substr(1)))) return std::nullopt;
        if (!parse_ip_of_family(inside, true)) return std::nullopt;
        return inside;
    }
    const auto first_colon = entry.find(':');
    if (first_colon != std::string_view::npos && entry.find(':', first_colon + 1) == std::string_view::npos) {
        // One colon: v4:port (a bare IPv6 address has at least two).
        const auto host = entry.substr(0, first_colon);
        if (!is_port(entry.substr(first_colon + 1)) || !parse_ip_of_family(host, false)) return std::nullopt;
        return host;
    }
    if (!config::parse_ip(entry)) return std::nullopt;  // bare IPv4 or IPv6
    return entry;
}

bool is_trusted(std::string_view ip, std::span<const config::cidr> networks) noexcept {
    if (networks.empty()) return false;
    const auto bytes = config::parse_ip(ip);
    return bytes && in_any(*bytes, networks);
}

client_origin peer_client(std::string_view peer) noexcept {
    client_origin o;
    o.address = peer;
    return o;
}

client_origin resolve_forwarded(std::string_view peer, std::span<const std::string_view> forwarded_for,
                                std::span<const config::cidr> trusted) {
    client_origin out;
    out.peer_trusted = true;
    std::vector<std::string_view> hops;  // trusted entries passed so far, right to left
    bool decided = false;
    for_each_element_from_right(forwarded_for, [&](std::string_view element) {
        const auto address = forwarded_entry_address(element);
        const auto ip = address ? config::parse_ip(*address) : std::nullopt;
        if (!ip) {
            out.kind = client_kind::unknown;
            decided = true;
            return false;
        }
        if (in_any(*ip, trusted)) {
            hops.push_back(*address);
            return true;
        }
        out.kind = client_kind::forwarded;
        out.address = *address;
        out.ip = ip;
        decided = true;
        return false;
    });
    if (out.kind == client_kind::unknown) return out;
    if (!decided) {
        if (hops.empty()) {  // a trusted peer that forwarded nobody is the client
            out.address = peer;
            return out;
        }
        // Every entry is a trusted proxy: the left-most one is the client.
        out.kind = client_kind::forwarded;
        out.address = hops.back();
        out.ip = config::parse_ip(out.address);
        hops.pop_back();
    }
    out.hops = join_hops(hops, peer);
    return out;
}

client_origin resolve_client(std::string_view peer, std::span<const std::string_view> forwarded_for,
                             std::span<const config::cidr> trusted) {
    if (!is_trusted(peer, trusted)) return peer_client(peer);
    return resolve_forwarded(peer, forwarded_for, trusted);
}

std::string_view forwarded_client(const client_origin& origin, std::string_view peer) noexcept {
    return origin.known() ? origin.address : peer;
}

std::string_view logged_client(const client_origin& origin) noexcept {
    return origin.known() ? origin.address : std::string_view("unknown");
}

bool client_in(const client_origin& origin, std::string_view peer, std::span<const config::cidr> networks) noexcept {
    if (!origin.known() || networks.empty()) return false;
    if (!origin.ip) return is_trusted(peer, networks);
    return in_any(*origin.ip, networks);
}

}  // namespace gatehouse::proxy
