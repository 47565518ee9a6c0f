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

/// Appends a field line's value to a comma-joined list.
void join_into(std::string& list, std::string_view value) {
    list.append(list.empty() ? "" : ",").append(value);
}

std::optional<std::uint64_t> parse_length(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

/// The answer's facts in one pass over its fields (a lookup by name in Beast's field set costs a string compare per
/// level of its tree; a pass compares enums). The first line of a single-valued field counts, as `operator[]` did.
void gather_response_facts(const http::response_header<>& response, compression_facts& facts,
                           std::string& cache_control) {
    bool chunked = false, have_type = false, have_encoding = false, have_length = false;
    std::string_view length_text;
    for (const auto& f : response) {
        switch (f.name()) {
        case http::field::content_type:
            if (!have_type) facts.content_type = f.value();
            have_type = true;
            break;
        case http::field::content_encoding:
            if (!have_encoding) facts.content_encoding = f.value();
            have_encoding = true;
            break;
        case http::field::content_length:
            if (!have_length) length_text = f.value();
            have_length = true;
            break;
        case http::field::content_range: facts.content_range = true; break;
        case http::field::transfer_encoding: chunked = true; break;
        case http::field::cache_control: join_into(cache_control, f.value()); break;
        default: break;
        }
    }
    facts.status = response.result_int();
    facts.content_length = chunked ? std::nullopt : parse_length(length_text);
}

}  // namespace

compression_decision decide_compression(const http::request_header<>& request,
                                        const http::response_header<>& response,
                                        const config::compression_config& cfg) {
    if (!cfg.enabled) return {compression_verdict::disabled, false};
    std::string cache_control, accept;
    compression_facts facts;
    gather_response_facts(response, facts, cache_control);
    facts.cache_control = cache_control;
    // Every reason but the client's own is decided without the request: Accept-Encoding is read only when it counts.
    facts.accept_encoding = "gzip";
    const auto decision = decide_compression(facts, cfg);
    if (!decision.compress()) return decision;
    for (const auto& f : request)
        if (f.name() == http::field::accept_encoding) join_into(accept, f.value());
    facts.accept_encoding = accept;
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
