// libFuzzer target: the request path, bytes a client sends, as the session handles them up to the node.
//
// Not a socket harness: the input runs through the same functions, in the same order, as
// the session (src/proxy/session/): the real request head reader (fed in pieces as a
// socket would deliver them), Beast's parser, check_request, write_upstream_request_head, and the real body relay
// coroutines over an in-memory stream. Properties checked, beyond "no crash, no sanitizer report":
//  - the head scan gives the same answer however the bytes were split;
//  - the parser consumes exactly the head the scan found (no desync between the two);
//  - the head sent to the node parses again, passes check_request with the same framing, method and target,
//    and carries no hop-by-hop field and exactly one X-Forwarded-For;
//  - websocket_upgrade_of's decision holds (a valid upgrade is a body-less HTTP/1.1 GET), and the node's head
//    carries the upgrade fields (exactly one each) only for a valid upgrade;
//  - the body the node receives decodes to the body the client sent (or the relay stops with an error).
//
// Input: byte 0 flags (head limit, body limit, trusted peer), byte 1 read piece sizes, then the client's bytes.
#include "memory_stream.hpp"
#include "run_coroutine.hpp"

#include <gatehouse/config/cidr.hpp>
#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/head_reader.hpp>
#include <gatehouse/proxy/request_checks.hpp>
#include <gatehouse/proxy/websocket_upgrade.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace gatehouse;
using gatehouse::fuzz::input_reader;

namespace {

std::size_t count_fields(const http::fields& f, std::string_view name) {
    std::size_t n = 0;
    for (const auto& field : f)
        if (beast::iequals(field.name_string(), name)) ++n;
    return n;
}

/// The head read as the session reads it: the real request_head_reader over pieces appended one by one.
proxy::head_progress read_in_pieces(std::string_view bytes, std::size_t max_head, const std::vector<std::size_t>& pieces,
                                    std::size_t& leading) {
    proxy::request_head_reader reader(max_head);
    std::string in;
    std::size_t offset = 0, next = 0;
    leading = 0;
    for (;;) {
        const auto p = reader.next(in);
        in.erase(0, p.skip);
        leading += p.skip;
        if (p.status != proxy::head_scan_status::need_more) return p;
        if (offset >= bytes.size()) return {};
        std::size_t want = std::min<std::size_t>(bytes.size() - offset, 8 * 1024);  // head_read_piece
        if (!pieces.empty() && pieces[next % pieces.size()] < want) want = pieces[next % pieces.size()];
        ++next;
        in.append(bytes.substr(offset, want));
        offset += want;
    }
}

/// The body as a reference parser decodes it from the client's bytes (whole, at once).
std::optional<std::string> reference_body(std::string_view head_and_body) {
    http::request_parser<http::string_body> p;
    p.header_limit(128 * 1024);
    p.body_limit(boost::none);
    p.eager(true);
    error_code ec;
    std::size_t used = 0;
    while (!p.is_done()) {
        const auto n = p.put(net::buffer(head_and_body.data() + used, head_and_body.size() - used), ec);
        used += n;
        if (ec == http::error::need_more && used < head_and_body.size()) continue;
        if (ec) return std::nullopt;
        if (n == 0) return std::nullopt;
    }
    return p.get().body();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input_reader in(data, size);
    const std::uint8_t flags = in.byte();
    const auto pieces = fuzz::piece_sizes(in.byte());
    const std::string_view bytes = in.rest();
    const std::size_t max_head = std::size_t(1024) << (flags & 3);  // 1-8 KiB ([limits] allows 1-64 KiB)
    const std::uint64_t max_body = (flags & 4) ? 0 : 4096;        // 0 = unlimited
    const bool trusted_peer = flags & 8;

    std::size_t leading = 0;
    const auto scan = read_in_pieces(bytes, max_head, pieces, leading);
    {
        // Same answer when everything arrives at once.
        std::string_view all = bytes.substr(std::min(bytes.size(), proxy::leading_empty_lines(bytes)));
        const auto once = all.empty() ? proxy::head_scan_result{} : proxy::scan_request_head(all, 0, max_head);
        if (scan.status == proxy::head_scan_status::complete || once.status == proxy::head_scan_status::complete) {
            GATEHOUSE_FUZZ_CHECK(scan.status == once.status);
            GATEHOUSE_FUZZ_CHECK(scan.head_length == once.head_length);
        }
    }
    if (scan.status != proxy::head_scan_status::complete) return 0;
    GATEHOUSE_FUZZ_CHECK(scan.head_length <= max_head + 4);
    const std::string_view after_blank = bytes.substr(leading);
    const std::string_view head = after_blank.substr(0, scan.head_length);
    GATEHOUSE_FUZZ_CHECK(head.size() == scan.head_length && head.ends_with("\r\n\r\n"));

    http::request_parser<http::buffer_body> request;
    request.header_limit(static_cast<std::uint32_t>(max_head + 1));
    request.body_limit(boost::none);
    error_code ec;
    const std::size_t used = request.put(net::buffer(head.data(), head.size()), ec);
    if (ec || !request.is_header_done()) return 0;  // 400
    GATEHOUSE_FUZZ_CHECK(used == head.size());

    const auto& h = request.get();
    const auto verdict = proxy::check_request(h, max_body);
    if (!verdict.accepted()) return 0;
    if (const auto expect = h[http::field::expect]; !expect.empty() && !beast::iequals(expect, "100-continue")) return 0;

    // The head sent to the node.
    static const std::vector<config::cidr> trusted{*config::parse_cidr("127.0.0.0/8"), *config::parse_cidr("::1/128")};
    const std::string peer = "127.0.0.1";
    const std::span<const config::cidr> trust = trusted_peer ? std::span<const config::cidr>(trusted)
                                                             : std::span<const config::cidr>();
    const proxy::client_origin origin = proxy::resolve_client(peer, h, trust);
    proxy::forward_context fwd;
    fwd.peer_ip = peer;
    fwd.client_ip = proxy::forwarded_client(origin, peer);
    fwd.forwarded_hops = origin.hops;
    fwd.keep_forwarded_host_proto = origin.peer_trusted;
    const std::string_view given_id = h["X-Request-Id"];
    fwd.request_id = proxy::is_sane_request_id(given_id) ? given_id : std::string_view("0123456789abcdef0123456789abcdef");
    const auto upgrade = proxy::websocket_upgrade_of(h, verdict.framing);
    const bool websocket = upgrade == proxy::upgrade_request::websocket;
    GATEHOUSE_FUZZ_CHECK(!websocket || (h.method() == http::verb::get && h.version() == 11 &&
                                        verdict.framing == proxy::body_framing::none));
    GATEHOUSE_FUZZ_CHECK(proxy::to_string(upgrade).empty() == (websocket || upgrade == proxy::upgrade_request::none));
    fwd.websocket_upgrade = websocket;
    std::string out;
    proxy::write_upstream_request_head(out, h, fwd, verdict.framing, verdict.content_length);

    {
        http::request_parser<http::empty_body> again;
        again.header_limit(1024 * 1024);
        again.body_limit(boost::none);
        error_code aec;
        const auto n = again.put(net::buffer(out), aec);
        GATEHOUSE_FUZZ_CHECK(!aec && again.is_header_done());
        GATEHOUSE_FUZZ_CHECK(n == out.size());
        const auto& g = again.get();
        const auto v2 = proxy::check_request(g, 0);
        GATEHOUSE_FUZZ_CHECK(v2.accepted());
        if (verdict.framing == proxy::body_framing::none) {
            // A body-less POST/PUT/PATCH states "Content-Length: 0" (Node expects a length on them).
            GATEHOUSE_FUZZ_CHECK(v2.framing == proxy::body_framing::none ||
                                 (v2.framing == proxy::body_framing::content_length && v2.content_length == 0));
        } else {
            GATEHOUSE_FUZZ_CHECK(v2.framing == verdict.framing);
            GATEHOUSE_FUZZ_CHECK(v2.content_length == verdict.content_length);
        }
        GATEHOUSE_FUZZ_CHECK(g.method_string() == h.method_string());
        GATEHOUSE_FUZZ_CHECK(g.target() == h.target());
        GATEHOUSE_FUZZ_CHECK(g.version() == 11);
        for (const char* hop : {"Keep-Alive", "TE", "Trailer", "Proxy-Connection", "Expect"})
            GATEHOUSE_FUZZ_CHECK(count_fields(g, hop) == 0);
        for (const char* upgrade_field : {"Connection", "Upgrade"})
            GATEHOUSE_FUZZ_CHECK(count_fields(g, upgrade_field) == (websocket ? 1u : 0u));
        GATEHOUSE_FUZZ_CHECK(!websocket || (beast::iequals(g["Upgrade"], "websocket") &&
                                            beast::iequals(g["Connection"], "upgrade")));
        GATEHOUSE_FUZZ_CHECK(count_fields(g, "X-Forwarded-For") == 1);
        GATEHOUSE_FUZZ_CHECK(count_fields(g, "X-Real-IP") == 1);
        GATEHOUSE_FUZZ_CHECK(count_fields(g, "X-Request-Id") == 1);
        // The node's client is the first X-Forwarded-For entry and X-Real-IP, and is an address.
        const auto real_ip = g["X-Real-IP"];
        GATEHOUSE_FUZZ_CHECK(config::parse_ip(real_ip).has_value());
        GATEHOUSE_FUZZ_CHECK(g["X-Forwarded-For"].substr(0, real_ip.size()) == real_ip);
        // Exactly one framing field when there is a body; at most "Content-Length: 0" when there is none.
        const auto framing_fields = count_fields(g, "Content-Length") + count_fields(g, "Transfer-Encoding");
        GATEHOUSE_FUZZ_CHECK(framing_fields <= 1);
        GATEHOUSE_FUZZ_CHECK(v2.framing == proxy::body_framing::none || framing_fields == 1);
        GATEHOUSE_FUZZ_CHECK(v2.framing != proxy::body_framing::none || count_fields(g, "Transfer-Encoding") == 0);
    }

    if (verdict.framing == proxy::body_framing::none) return 0;

    // The body, relayed by the real coroutines from an in-memory client to an in-memory node.
    const std::string_view body_bytes = after_blank.substr(scan.head_length);
    net::io_context io;
    fuzz::memory_stream client(io, body_bytes, pieces);
    fuzz::memory_stream node(io, {}, {});
    beast::flat_buffer buffered;
    buffered.max_size(128 * 1024);  // buffer_limit in the session
    proxy::relay_result r;
    fuzz::run_coroutine(io, [&]() -> net::awaitable<void> {
        if (verdict.framing == proxy::body_framing::content_length)
            r = co_await proxy::relay_content_length(client, buffered, node, verdict.content_length, [] {});
        else
            r = co_await proxy::relay_parsed_body(client, buffered, request, node, proxy::relay_output::chunked,
                                                  max_body, [] {});
    });

    if (r.failed == proxy::relay_side::none) {
        const auto expected = reference_body(after_blank);
        GATEHOUSE_FUZZ_CHECK(expected.has_value());
        std::string received;
        if (verdict.framing == proxy::body_framing::content_length) {
            received = node.written();
        } else {
            // What the node got decodes, as a chunked body, to the client's body.
            http::request_parser<http::string_body> decode;
            decode.body_limit(boost::none);
            decode.eager(true);
            const std::string framed = "POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n\r\n" + node.written();
            error_code dec;
            const auto n = decode.put(net::buffer(framed), dec);
            GATEHOUSE_FUZZ_CHECK(!dec && decode.is_done() && n == framed.size());
            received = decode.get().body();
        }
        GATEHOUSE_FUZZ_CHECK(received == *expected);
        GATEHOUSE_FUZZ_CHECK(r.bytes == expected->size());
        GATEHOUSE_FUZZ_CHECK(max_body == 0 || verdict.framing != proxy::body_framing::chunked || r.bytes <= max_body);
    } else if (r.too_large) {
        GATEHOUSE_FUZZ_CHECK(max_body != 0 && r.bytes > max_body);
    }
    return 0;
}
