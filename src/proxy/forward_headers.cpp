// Head rewriting between client and node.
#include <gatehouse/proxy/forward_headers.hpp>

#include <gatehouse/proxy/field_lists.hpp>

#include <boost/beast/core/string.hpp>

#include <array>
#include <charconv>

namespace gatehouse::proxy {
namespace {

/// The field names listed in Connection headers (they are hop-by-hop too). Bounded: extra tokens are ignored
/// only after the table is full, which a sane client never reaches.
class connection_tokens {
public:
    template <class Fields>
    explicit connection_tokens(const Fields& fields) noexcept {
        for (auto [it, end] = fields.equal_range(http::field::connection); it != end; ++it) {
            for_each_list_element(it->value(), [this](std::string_view token) {
                if (count_ < tokens_.size()) tokens_[count_++] = token;
                return true;
            });
        }
    }
    bool lists(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            if (beast::iequals(tokens_[i], name)) return true;
        return false;
    }

private:
    std::array<std::string_view, 16> tokens_{};
    std::size_t count_ = 0;
};

bool starts_with_proxy(std::string_view name) noexcept {
    return name.size() > 6 && beast::iequals(name.substr(0, 6), "proxy-");
}

/// Fields never passed on in either direction.
bool is_hop_by_hop(http::field f) noexcept {
    switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::content_length:  // re-framed
        return true;
    default:
        return false;
    }
}

template <class Fields>
bool skip_field(const typename Fields::value_type& f, const connection_tokens& listed) noexcept {
    if (is_hop_by_hop(f.name())) return true;
    const auto name = f.name_string();
    return starts_with_proxy(name) || listed.lists(name);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, std::uint64_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    (void)ec;
    out.append(digits, end);
}

}  // namespace

bool is_trusted(std::string_view ip, std::span<const config::cidr> trusted) noexcept {
    if (trusted.empty()) return false;
    const auto bytes = config::parse_ip(ip);
    if (!bytes) return false;
    for (const auto& net : trusted)
        if (net.contains(*bytes)) return true;
    return false;
}

std::string_view client_address(std::string_view peer_ip, std::string_view forwarded_for,
                                std::span<const config::cidr> trusted) noexcept {
    if (!is_trusted(peer_ip, trusted)) return peer_ip;
    // Walk X-Forwarded-For from the right: each trusted hop vouches for the entry left of it.
    while (!forwarded_for.empty()) {
        const auto comma = forwarded_for.rfind(',');
        const auto entry = trim_ows(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        if (!entry.empty()) {
            if (!config::parse_ip(entry)) return peer_ip;  // garbage: believe nothing further left
            if (!is_trusted(entry, trusted)) return entry;
        }
        if (comma == std::string_view::npos) break;
        forwarded_for = forwarded_for.substr(0, comma);
    }
    return peer_ip;
}

std::string without_cookie(std::string_view cookies, std::string_view name) {
    std::string out;
    while (!cookies.empty()) {
        const auto end = cookies.find(';');
        const auto pair = trim_ows(cookies.substr(0, end));
        cookies = end == std::string_view::npos ? std::string_view{} : cookies.substr(end + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        if (trim_ows(pair.substr(0, eq == std::string_view::npos ? pair.size() : eq)) == name) continue;
        out.append(out.empty() ? "" : "; ").append(pair);
    }
    return out;
}

void write_upstream_request_head(std::string& out, const http::request_header<>& request, const forward_context& ctx,
                                 body_framing framing, std::uint64_t content_length) {
    const connection_tokens listed(request);
    out.append(request.method_string()).append(" ").append(request.target()).append(" HTTP/1.1\r\n");
    // The node gets HTTP/1.1, which needs exactly one Host (Node.js answers 400 without one): the client's (checked
    // to be the only one), never dropped even when Connection lists it, and empty for an HTTP/1.0 client that sent
    // none (RFC 9112 3.2: an empty Host when the target URI has no authority).
    append_field(out, "Host", request[http::field::host]);

    std::string_view prior_for, prior_proto, prior_host;
    bool has_request_id = false;
    for (const auto& f : request) {
        if (f.name() == http::field::expect) continue;  // gatehouse answers 100-continue itself
        if (f.name() == http::field::host) continue;    // written once, below
        if (skip_field<http::fields>(f, listed)) continue;
        const auto name = f.name_string();
        if (f.name() == http::field::unknown) {
            // X-Forwarded-* and X-Real-IP are replaced below; multiple X-Forwarded-For lines form one list.
            if (beast::iequals(name, "x-forwarded-for")) {
                prior_for = f.value();
                continue;
            }
            if (beast::iequals(name, "x-forwarded-proto")) {
                if (prior_proto.empty()) prior_proto = f.value();
                continue;
            }
            if (beast::iequals(name, "x-forwarded-host")) {
                if (prior_host.empty()) prior_host = f.value();
                continue;
            }
            if (beast::iequals(name, "x-real-ip")) continue;
            if (beast::iequals(name, "x-request-id")) has_request_id = true;
        }
        if (f.name() == http::field::cookie && !ctx.strip_cookie.empty() &&
            f.value().find(ctx.strip_cookie) != std::string_view::npos) {
            const auto kept = without_cookie(f.value(), ctx.strip_cookie);
            if (!kept.empty()) append_field(out, name, kept);
            continue;
        }
        append_field(out, name, f.value());
    }

    if (ctx.peer_trusted && !prior_for.empty()) {
        out.append("X-Forwarded-For: ").append(prior_for).append(", ").append(ctx.peer_ip).append("\r\n");
    } else {
        append_field(out, "X-Forwarded-For", ctx.peer_ip);
    }
    append_field(out, "X-Forwarded-Proto", ctx.peer_trusted && !prior_proto.empty() ? prior_proto : ctx.scheme);
    const std::string_view host = request[http::field::host];
    const auto forwarded_host = ctx.peer_trusted && !prior_host.empty() ? prior_host : host;
    if (!forwarded_host.empty()) append_field(out, "X-Forwarded-Host", forwarded_host);
    append_field(out, "X-Real-IP", ctx.client_ip);
    if (!has_request_id) append_field(out, "X-Request-Id", ctx.request_id);

    switch (framing) {
    case body_framing::none:
        // A body-less POST/PUT still states its length, as Node and most servers expect.
        if (request.method() == http::verb::post || request.method() == http::verb::put ||
            request.method() == http::verb::patch)
            out.append("Content-Length: 0\r\n");
        break;
    case body_framing::content_length:
        out.append("Content-Length: ");
        append_number(out, content_length);
        out.append("\r\n");
        break;
    case body_framing::chunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
    }
    out.append("\r\n");
}

void write_client_response_head(std::string& out, const http::response_header<>& response,
                                const response_head_options& options) {
    const connection_tokens listed(response);
    out.append("HTTP/1.1 ");
    append_number(out, response.result_int());
    out.append(" ");
    const auto reason = response.reason();
    out.append(reason.empty() ? http::obsolete_reason(response.result()) : reason);
    out.append("\r\n");

    bool has_request_id = false;
    for (const auto& f : response) {
        if (skip_field<http::fields>(f, listed)) continue;
        const auto name = f.name_string();
        if (f.name() == http::field::unknown && beast::iequals(name, "x-request-id")) has_request_id = true;
        append_field(out, name, f.value());
    }
    if (!has_request_id && !options.request_id.empty()) append_field(out, "X-Request-Id", options.request_id);

    switch (options.framing) {
    case response_framing::content_length:
        out.append("Content-Length: ");
        append_number(out, options.content_length);
        out.append("\r\n");
        break;
    case response_framing::chunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
    case response_framing::none:
    case response_framing::close_delimited:
        break;
    }
    if (!options.keep_alive) {
        out.append("Connection: close\r\n");
    } else if (options.client_http10) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

}  // namespace gatehouse::proxy
