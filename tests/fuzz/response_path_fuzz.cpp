// libFuzzer target: the response path, bytes a node sends back, as the session relays them to the client.
//
// Like request_path_fuzz.cpp this is not a socket harness: the bytes run through what forward_request and
// relay_response (src/proxy/session/) do, in the same order: http::async_read_header with the session's limits
// (interim 1xx answers skipped, HEAD answers parsed with skip), the framing decision, write_client_response_head,
// and the real body relay coroutines over in-memory streams. Properties checked, beyond "no crash, no sanitizer
// report": what the client receives parses as one complete HTTP/1.1 (or 1.0) response with the node's status,
// exactly one framing field (none for HEAD/204/304 bodies), no hop-by-hop field, and a body equal to the node's
// decoded body.
//
// Input: byte 0 flags (HEAD request, HTTP/1.0 client, keep-alive), byte 1 read piece sizes, then the node's bytes.
#include "memory_stream.hpp"
#include "run_coroutine.hpp"

#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/forward_headers.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

using namespace gatehouse;
using gatehouse::fuzz::input_reader;

namespace {

constexpr std::size_t response_head_limit = 64 * 1024;  // as in the session
constexpr int max_interim_responses = 8;

std::size_t count_fields(const http::fields& f, std::string_view name) {
    std::size_t n = 0;
    for (const auto& field : f)
        if (beast::iequals(field.name_string(), name)) ++n;
    return n;
}

std::optional<std::uint64_t> parse_length(std::string_view text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input_reader in(data, size);
    const std::uint8_t flags = in.byte();
    const auto pieces = fuzz::piece_sizes(in.byte());
    const std::string_view bytes = in.rest();
    const bool head_request = flags & 1;
    const bool client_http10 = flags & 2;
    const bool client_keep_alive = !(flags & 4);

    net::io_context io;
    fuzz::memory_stream node(io, bytes, pieces);
    fuzz::memory_stream client(io, {}, {});
    beast::flat_buffer up_in;
    up_in.max_size(128 * 1024);
    std::optional<http::response_parser<http::buffer_body>> response;
    bool head_ok = false;
    proxy::response_head_options options;
    bool bodiless = false;
    proxy::relay_result r;
    std::string out;

    fuzz::run_coroutine(io, [&]() -> net::awaitable<void> {
        for (int interim = 0;; ++interim) {
            response.emplace();
            response->header_limit(response_head_limit);
            response->body_limit(boost::none);
            if (head_request) response->skip(true);
            auto [ec, n] = co_await http::async_read_header(node, up_in, *response, use_tuple);
            if (ec) co_return;  // 502
            const unsigned status = response->get().result_int();
            if (status >= 200) break;
            if (status == 101 || interim + 1 >= max_interim_responses) co_return;  // 502
        }
        head_ok = true;
        auto& parser = *response;
        const auto& head = parser.get();
        const unsigned status = head.result_int();
        bodiless = head_request || status == 204 || status == 304;
        options.client_http10 = client_http10;
        options.request_id = "0123456789abcdef0123456789abcdef";
        if (bodiless) {
            if (head_request || status == 304) {
                if (const auto cl = parse_length(head[http::field::content_length])) {
                    options.framing = proxy::response_framing::content_length;
                    options.content_length = *cl;
                }
            }
        } else if (const auto cl = parser.content_length()) {
            options.framing = proxy::response_framing::content_length;
            options.content_length = *cl;
        } else {
            options.framing = client_http10 ? proxy::response_framing::close_delimited : proxy::response_framing::chunked;
        }
        options.keep_alive = client_keep_alive && options.framing != proxy::response_framing::close_delimited;
        proxy::write_client_response_head(out, head, options);

        if (bodiless || (options.framing == proxy::response_framing::content_length && options.content_length == 0)) {
            auto [ec, n] = co_await net::async_write(client, net::buffer(out), use_tuple);
            GATEHOUSE_FUZZ_CHECK(!ec);
        } else if (options.framing == proxy::response_framing::content_length) {
            const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(up_in.size(), options.content_length));
            const std::array<net::const_buffer, 2> parts{net::buffer(out), net::buffer(up_in.data().data(), first)};
            auto [ec, n] = co_await net::async_write(client, parts, use_tuple);
            GATEHOUSE_FUZZ_CHECK(!ec);
            up_in.consume(first);
            r = co_await proxy::relay_content_length(node, up_in, client, options.content_length - first, [] {});
        } else {
            auto [ec, n] = co_await net::async_write(client, net::buffer(out), use_tuple);
            GATEHOUSE_FUZZ_CHECK(!ec);
            r = co_await proxy::relay_parsed_body(node, up_in, parser, client,
                                                  client_http10 ? proxy::relay_output::raw : proxy::relay_output::chunked,
                                                  0, [] {});
        }
    });
    if (!head_ok) return 0;
    GATEHOUSE_FUZZ_CHECK(r.failed != proxy::relay_side::destination);  // the in-memory client never fails

    // The client's view: one response, parsed as a client would (knowing whether it asked with HEAD).
    const std::string& got = client.written();
    GATEHOUSE_FUZZ_CHECK(got.starts_with(out));
    // The node failed mid-body: the client got the head and part of the body, then the connection closes. (Not
    // parsed here: a client parser would reserve the whole announced length.)
    if (r.failed != proxy::relay_side::none) return 0;
    http::response_parser<http::string_body> seen;
    seen.header_limit(1024 * 1024);
    seen.body_limit(boost::none);
    seen.eager(true);
    if (head_request) seen.skip(true);
    error_code ec;
    std::size_t used = seen.put(net::buffer(got), ec);
    if (!ec && !seen.is_done() && options.framing == proxy::response_framing::close_delimited) {
        seen.put_eof(ec);  // the connection closes after a close-delimited answer
    }
    GATEHOUSE_FUZZ_CHECK(!ec);
    GATEHOUSE_FUZZ_CHECK(seen.is_done());
    GATEHOUSE_FUZZ_CHECK(used == got.size());
    const auto& g = seen.get();
    GATEHOUSE_FUZZ_CHECK(g.result_int() == response->get().result_int());
    for (const char* hop : {"Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Connection"})
        GATEHOUSE_FUZZ_CHECK(count_fields(g, hop) == 0);
    GATEHOUSE_FUZZ_CHECK(count_fields(g, "Content-Length") + count_fields(g, "Transfer-Encoding") <= 1);
    GATEHOUSE_FUZZ_CHECK(count_fields(g, "Connection") <= 1);
    if (options.framing == proxy::response_framing::close_delimited) GATEHOUSE_FUZZ_CHECK(!seen.keep_alive());
    if (bodiless) {
        GATEHOUSE_FUZZ_CHECK(g.body().empty());
        return 0;
    }

    // The body the client decodes equals the node's body, decoded by a reference parser from the node's bytes.
    std::optional<http::response_parser<http::string_body>> reference;
    std::size_t offset = 0;
    error_code rec;
    for (int i = 0; i < max_interim_responses; ++i) {
        reference.emplace();
        reference->header_limit(response_head_limit);
        reference->body_limit(boost::none);
        reference->eager(true);
        offset += reference->put(net::buffer(bytes.data() + offset, bytes.size() - offset), rec);
        if (rec || !reference->is_header_done() || reference->get().result_int() >= 200) break;
    }
    if (!rec && !reference->is_done() && reference->is_header_done()) reference->put_eof(rec);
    if (options.framing == proxy::response_framing::content_length) {
        // Exactly content_length bytes pass, whatever follows them.
        GATEHOUSE_FUZZ_CHECK(g.body().size() == options.content_length);
    }
    if (!rec && reference->is_done()) GATEHOUSE_FUZZ_CHECK(g.body() == reference->get().body());
    return 0;
}
