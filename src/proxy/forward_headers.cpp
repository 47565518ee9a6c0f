// Head rewriting between client and node.
#include <gatehouse/proxy/forward_headers.hpp>

#include <gatehouse/proxy/compression_policy.hpp>
#include <gatehouse/proxy/field_lists.hpp>

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace gatehouse::proxy {
namespace {

/// The field names listed in Connection headers (they are hop-by-hop too). Any number of them: up to 16 are kept
/// inline and searched in turn (the usual case, no allocation); past that they go to a vector sorted
/// case-insensitively and searched by bisection, so the cost stays O((fields + tokens) log tokens), bounded by the
/// head size limit.
class connection_tokens {
public:
    template <class Fields>
    explicit connection_tokens(const Fields& fields) {
        for (const auto& f : fields) {
            if (f.name() != http::field::connection) continue;
            for_each_list_element(f.value(), [this](std::string_view token) {
                add(token);
                return true;
            });
        }
        if (!more_.empty()) std::sort(more_.begin(), more_.end(), iless);
    }
    bool lists(std::string_view name) const noexcept {
        if (!more_.empty()) return std::binary_search(more_.begin(), more_.end(), name, iless);
        for (std::size_t i = 0; i < count_; ++i)
            if (beast::iequals(tokens_[i], name)) return true;
        return false;
    }

private:
    static bool iless(std::string_view a, std::string_view b) noexcept {
        return beast::iless{}(a, b);
    }
    void add(std::string_view token) {
        if (!more_.empty()) {
            more_.push_back(token);
        } else if (count_ < tokens_.size()) {
            tokens_[count_++] = token;
        } else {
            more_.assign(tokens_.begin(), tokens_.end());
            more_.push_back(token);
        }
    }
    std::array<std::string_view, 16> tokens_{};
    std::size_t count_ = 0;
    std::vector<std::string_view> more_;  ///< every token, once there are more than fit inline
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

client_origin resolve_client(std::string_view peer_ip, const http::request_header<>& request,
                             std::span<const config::cidr> trusted) {
    if (!is_trusted(peer_ip, trusted)) return peer_client(peer_ip);  // the usual case
    std::vector<std::string_view> lines;
    for (auto [it, end] = request.equal_range("X-Forwarded-For"); it != end; ++it) lines.push_back(it->value());
    return resolve_forwarded(peer_ip, lines, trusted);
}

bool is_sane_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
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
    append_field(out, "Host", first_value(request, http::field::host));

    std::string_view prior_proto, prior_host;
    for (const auto& f : request) {
        if (f.name() == http::field::expect) continue;  // gatehouse answers 100-continue itself
        if (f.name() == http::field::host) continue;    // written once, below
        if (skip_field<http::fields>(f, listed)) continue;
        const auto name = f.name_string();
        if (f.name() == http::field::unknown) {
            // X-Forwarded-*, X-Real-IP and X-Request-Id are written below from what gatehouse decided.
            if (beast::iequals(name, "x-forwarded-proto")) {
                if (prior_proto.empty()) prior_proto = f.value();
                continue;
            }
            if (beast::iequals(name, "x-forwarded-host")) {
                if (prior_host.empty()) prior_host = f.value();
                continue;
            }
            if (beast::iequals(name, "x-forwarded-for") || beast::iequals(name, "x-real-ip") ||
                beast::iequals(name, "x-request-id"))
                continue;
        }
        if (f.name() == http::field::cookie && !ctx.strip_cookie.empty() &&
            f.value().find(ctx.strip_cookie) != std::string_view::npos) {
            const auto kept = without_cookie(f.value(), ctx.strip_cookie);
            if (!kept.empty()) append_field(out, name, kept);
            continue;
        }
        append_field(out, name, f.value());
    }

    if (ctx.websocket_upgrade) out.append("Connection: upgrade\r\nUpgrade: websocket\r\n");
    const auto client = ctx.client_ip.empty() ? ctx.peer_ip : ctx.client_ip;
    out.append("X-Forwarded-For: ").append(client);
    if (!ctx.forwarded_hops.empty()) out.append(", ").append(ctx.forwarded_hops);
    out.append("\r\n");
    const bool keep = ctx.keep_forwarded_host_proto;
    append_field(out, "X-Forwarded-Proto", keep && !prior_proto.empty() ? prior_proto : ctx.scheme);
    const std::string_view host = first_value(request, http::field::host);
    const auto forwarded_host = keep && !prior_host.empty() ? prior_host : host;
    if (!forwarded_host.empty()) append_field(out, "X-Forwarded-Host", forwarded_host);
    append_field(out, "X-Real-IP", client);
    if (!ctx.request_id.empty()) append_field(out, "X-Request-Id", ctx.request_id);

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
    bool vary_covered = !options.vary_accept_encoding;
    bool has_sts = false;
    for (const auto& f : response) {
        if (skip_field<http::fields>(f, listed)) continue;
        const auto name = f.name_string();
        if (f.name() == http::field::unknown && beast::iequals(name, "x-request-id")) has_request_id = true;
        if (f.name() == http::field::vary && !vary_covered) vary_covered = vary_covers_accept_encoding(f.value());
        if (f.name() == http::field::strict_transport_security) has_sts = true;
        if (options.gzip && f.name() == http::field::accept_ranges) continue;  // no ranges of the gzip bytes
        if (options.gzip && f.name() == http::field::etag) append_field(out, name, weak_etag(f.value()));
        else append_field(out, name, f.value());
    }
    if (!has_request_id && !options.request_id.empty()) append_field(out, "X-Request-Id", options.request_id);
    if (!has_sts && !options.strict_transport_security.empty())
        append_field(out, "Strict-Transport-Security", options.strict_transport_security);
    if (!vary_covered) append_field(out, "Vary", "Accept-Encoding");
    if (options.gzip) append_field(out, "Content-Encoding", "gzip");

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
    if (options.switching_protocols) {
        out.append("Connection: upgrade\r\nUpgrade: websocket\r\n");
    } else if (!options.keep_alive) {
        out.append("Connection: close\r\n");
    } else if (options.client_http10) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

}  // namespace gatehouse::proxy
