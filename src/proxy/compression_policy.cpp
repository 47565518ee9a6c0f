// Whether a node's answer is gzipped: Accept-Encoding q-values, the answer's type and framing, the ETag and Vary rules.
#include <gatehouse/proxy/compression_policy.hpp>

#include <boost/beast/core/string.hpp>

#include <algorithm>

namespace gatehouse::proxy {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Calls f(element) for each trimmed, non-empty element of a comma-separated list; stops when f returns true.
template <class F>
void for_each_element(std::string_view list, F f) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto element = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (!element.empty() && f(element)) return;
    }
}

/// An RFC 9110 qvalue ("0", "0.5", "1.000") in thousandths; nullopt when malformed.
std::optional<unsigned> parse_qvalue(std::string_view q) noexcept {
    if (q.empty() || (q[0] != '0' && q[0] != '1')) return std::nullopt;
    unsigned value = static_cast<unsigned>(q[0] - '0') * 1000;
    if (q.size() == 1) return value;
    if (q[1] != '.' || q.size() > 5) return std::nullopt;
    unsigned scale = 100;
    for (const char c : q.substr(2)) {
        if (c < '0' || c > '9') return std::nullopt;
        value += static_cast<unsigned>(c - '0') * scale;
        scale /= 10;
    }
    return value <= 1000 ? std::optional<unsigned>(value) : std::nullopt;
}

/// The q of one Accept-Encoding element's parameters (";q=0.5"): 1000 without one, 0 when malformed.
unsigned element_quality(std::string_view params) noexcept {
    unsigned q = 1000;
    while (!params.empty()) {
        const auto semi = params.find(';');
        const auto param = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        const auto eq = param.find('=');
        if (eq == std::string_view::npos || !beast::iequals(trim(param.substr(0, eq)), "q")) continue;
        q = parse_qvalue(trim(param.substr(eq + 1))).value_or(0);
    }
    return q;
}

std::string_view media_type(std::string_view content_type) noexcept {
    return trim(content_type.substr(0, content_type.find(';')));
}

bool lists_token(std::string_view list, std::string_view token) {
    bool found = false;
    for_each_element(list, [&](std::string_view element) {
        found = beast::iequals(trim(element.substr(0, element.find('='))), token);
        return found;
    });
    return found;
}

}  // namespace

unsigned gzip_quality(std::string_view accept_encoding) noexcept {
    std::optional<unsigned> gzip, any;
    for_each_element(accept_encoding, [&](std::string_view element) {
        const auto semi = element.find(';');
        const auto coding = trim(element.substr(0, semi));
        const auto params = semi == std::string_view::npos ? std::string_view{} : element.substr(semi + 1);
        if (!gzip && (beast::iequals(coding, "gzip") || beast::iequals(coding, "x-gzip")))
            gzip = element_quality(params);
        else if (!any && coding == "*")
            any = element_quality(params);
        return false;
    });
    return gzip ? *gzip : any.value_or(0);
}

std::string_view to_string(compression_verdict v) noexcept {
    switch (v) {
    case compression_verdict::compress: return "compress";
    case compression_verdict::disabled: return "disabled";
    case compression_verdict::no_body: return "no_body";
    case compression_verdict::partial: return "partial";
    case compression_verdict::already_encoded: return "already_encoded";
    case compression_verdict::event_stream: return "event_stream";
    case compression_verdict::type_not_listed: return "type_not_listed";
    case compression_verdict::no_transform: return "no_transform";
    case compression_verdict::too_small: return "too_small";
    case compression_verdict::client_refuses: return "client_refuses";
    }
    return "unknown";
}

bool compressible_type(std::string_view content_type, const std::vector<std::string>& types) noexcept {
    const auto type = media_type(content_type);
    if (type.empty()) return false;
    return std::any_of(types.begin(), types.end(), [&](const std::string& listed) {
        if (listed.size() > 2 && listed.ends_with("/*")) {
            const auto prefix = std::string_view(listed).substr(0, listed.size() - 1);  // "text/"
            return type.size() > prefix.size() && beast::iequals(type.substr(0, prefix.size()), prefix);
        }
        return beast::iequals(type, listed);
    });
}

compression_decision decide_compression(const compression_facts& f, const config::compression_config& cfg) {
    using enum compression_verdict;
    const auto refuse = [](compression_verdict v) { return compression_decision{v, false}; };
    if (!cfg.enabled) return refuse(disabled);
    if (f.status < 200 || f.status == 204 || f.status == 304) return refuse(no_body);
    if (f.status == 206 || f.content_range) return refuse(partial);
    if (!f.content_encoding.empty() && !beast::iequals(trim(f.content_encoding), "identity"))
        return refuse(already_encoded);
    if (beast::iequals(media_type(f.content_type), "text/event-stream")) return refuse(event_stream);
    if (!compressible_type(f.content_type, cfg.types)) return refuse(type_not_listed);
    if (lists_token(f.cache_control, "no-transform")) return refuse(no_transform);
    if (f.content_length && (*f.content_length == 0 || *f.content_length < cfg.min_length)) return refuse(too_small);
    if (gzip_quality(f.accept_encoding) == 0) return {client_refuses, true};
    return {compress, true};
}

namespace {

/// Every line of `name` joined with ",", as one list.
template <class Fields>
std::string joined(const Fields& fields, http::field name) {
    std::string out;
    for (auto [it, end] = fields.equal_range(name); it != end; ++it) out.append(out.empty() ? "" : ",").append(it->value());
    return out;
}

std::optional<std::uint64_t> length_of(const http::response_header<>& response) {
    if (response.count(http::field::transfer_encoding) != 0) return std::nullopt;
    const auto text = response[http::field::content_length];
    if (text.empty()) return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

}  // namespace

compression_decision decide_compression(const http::request_header<>& request,
                                        const http::response_header<>& response,
                                        const config::compression_config& cfg) {
    if (!cfg.enabled) return {compression_verdict::disabled, false};
    const std::string accept = joined(request, http::field::accept_encoding);
    const std::string cache_control = joined(response, http::field::cache_control);
    compression_facts facts;
    facts.status = response.result_int();
    facts.accept_encoding = accept;
    facts.content_type = response[http::field::content_type];
    facts.content_encoding = response[http::field::content_encoding];
    facts.content_range = response.count(http::field::content_range) != 0;
    facts.cache_control = cache_control;
    facts.content_length = length_of(response);
    return decide_compression(facts, cfg);
}

bool vary_covers_accept_encoding(std::string_view vary) noexcept {
    bool covered = false;
    for_each_element(vary, [&](std::string_view element) {
        covered = element == "*" || beast::iequals(element, "accept-encoding");
        return covered;
    });
    return covered;
}

std::string weak_etag(std::string_view etag) {
    const auto value = trim(etag);
    if (value.size() >= 2 && value.front() == '"') return "W/" + std::string(value);
    return std::string(etag);
}

}  // namespace gatehouse::proxy
