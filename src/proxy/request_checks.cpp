// Request framing, Host and target checks that Beast 1.81 does not make.
#include <gatehouse/proxy/request_checks.hpp>

#include <gatehouse/proxy/field_lists.hpp>

#include <boost/beast/core/string.hpp>
#include <charconv>

namespace gatehouse::proxy {
namespace {

request_verdict reject(http::status status, std::string_view reason) noexcept {
    request_verdict v;
    v.status = status;
    v.reason = reason;
    return v;
}

bool valid_target(std::string_view target, http::verb method) noexcept {
    if (target == "*") return method == http::verb::options;
    if (target.empty() || target.front() != '/') return false;
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f || c == '#') return false;
    return true;
}

/// A Host value is uri-host [":" port] (RFC 9110 7.2): letters, digits and - . _ ~ % ! $ & ' ( ) * + , ; = : [ ]
/// only. So no space, tab, control byte, DEL or non-ASCII byte, nor / \ " @ and the like. Empty is allowed (an
/// HTTP/1.0 client without Host is forwarded with an empty one).
bool valid_host(std::string_view host) noexcept {
    for (unsigned char c : host) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::string_view("-._~%!$&'()*+,;=:[]").find(static_cast<char>(c)) == std::string_view::npos)
            return false;
    }
    return true;
}

/// The fields framing and Host depend on, counted in one pass (a lookup by name in Beast's field set compares
/// strings at each level of its tree; this compares enums).
struct framing_fields {
    std::size_t hosts = 0, te_count = 0;
    bool has_cl = false;
    std::string_view host, te;  ///< the first Host and Transfer-Encoding lines
};

framing_fields scan_framing_fields(const http::request_header<>& head) noexcept {
    framing_fields s;
    for (const auto& f : head) {
        switch (f.name()) {
        case http::field::host:
            if (s.hosts++ == 0) s.host = f.value();
            break;
        case http::field::transfer_encoding:
            if (s.te_count++ == 0) s.te = f.value();
            break;
        case http::field::content_length: s.has_cl = true; break;
        default: break;
        }
    }
    return s;
}

}  // namespace

request_verdict check_request(const http::request_header<>& head, std::uint64_t max_body) noexcept {
    if (head.method() == http::verb::connect) return reject(http::status::method_not_allowed, "CONNECT is not supported");
    if (head.method() == http::verb::unknown) return reject(http::status::not_implemented, "unknown method");
    if (!valid_target(head.target(), head.method())) return reject(http::status::bad_request, "invalid request target");

    const auto [hosts, te_count, has_cl, host, te] = scan_framing_fields(head);
    if (head.version() == 11 && hosts != 1) return reject(http::status::bad_request, "HTTP/1.1 needs exactly one Host header");
    if (hosts > 1) return reject(http::status::bad_request, "more than one Host header");
    if (!valid_host(host)) return reject(http::status::bad_request, "invalid Host header");

    request_verdict ok;
    if (te_count > 0) {
        if (te_count > 1) return reject(http::status::bad_request, "more than one Transfer-Encoding header");
        if (has_cl) return reject(http::status::bad_request, "both Content-Length and Transfer-Encoding");
        if (head.version() < 11) return reject(http::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request");
        if (!beast::iequals(trim_ows(te), "chunked"))
            return reject(http::status::bad_request, "transfer coding other than chunked");
        ok.framing = body_framing::chunked;
        return ok;
    }
    if (has_cl) {
        // Beast already refused differing values; identical duplicates ("5, 5" or two lines) collapse to one.
        std::uint64_t length = 0;
        bool first = true, valid = true, consistent = true;
        for (auto it = head.begin(); it != head.end() && valid && consistent; ++it) {
            if (it->name() != http::field::content_length) continue;
            for_each_list_element(it->value(), [&](std::string_view item) {
                std::uint64_t n = 0;
                const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
                valid = ec == std::errc{} && end == item.data() + item.size();
                consistent = first || n == length;
                length = n;
                first = false;
                return valid && consistent;
            });
        }
        if (!valid || first) return reject(http::status::bad_request, "invalid Content-Length");
        if (!consistent) return reject(http::status::bad_request, "conflicting Content-Length values");
        if (max_body != 0 && length > max_body) return reject(http::status::payload_too_large, "request body too large");
        ok.framing = length > 0 ? body_framing::content_length : body_framing::none;
        ok.content_length = length;
    }
    return ok;
}

bool is_idempotent(http::verb method) noexcept {
    switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::put:
    case http::verb::delete_:
        return true;
    default:
        return false;
    }
}

}  // namespace gatehouse::proxy
