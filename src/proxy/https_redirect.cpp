// proxy.redirect_https: the Location of the 301 a plain listener answers with.
#include <gatehouse/proxy/https_redirect.hpp>

namespace gatehouse::proxy {

namespace {

/// Letters, digits, '-', '.', '_' (a DNS name or IPv4 address), or ':' inside brackets (IPv6).
bool host_char(char c, bool bracketed) noexcept {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || c == '-' || c == '.' || c == '_' || (bracketed && c == ':');
}

/// The host part of a Host value ("name", "name:port", "[v6]", "[v6]:port"), or "" when it is malformed.
std::string_view host_part(std::string_view host) noexcept {
    std::string_view name = host;
    std::string_view port;
    const bool bracketed = !host.empty() && host.front() == '[';
    if (bracketed) {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close < 2) return {};
        name = host.substr(0, close + 1);
        if (close + 1 < host.size()) {
            if (host[close + 1] != ':') return {};
            port = host.substr(close + 2);
        }
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
    }
    for (char c : port)
        if (c < '0' || c > '9') return {};
    const auto inner = bracketed ? name.substr(1, name.size() - 2) : name;
    if (inner.empty()) return {};
    for (char c : inner)
        if (!host_char(c, bracketed)) return {};
    return name;
}

}  // namespace

std::optional<std::string> https_location(std::string_view host, std::string_view target, std::uint16_t tls_port) {
    const auto name = host_part(host);
    if (name.empty()) return std::nullopt;
    std::string out = "https://";
    out.append(name);
    if (tls_port != 443) out.append(":").append(std::to_string(tls_port));
    if (target.empty() || target.front() != '/') out.push_back('/');  // "*" or an absolute form: the root
    else out.append(target);
    return out;
}

}  // namespace gatehouse::proxy
