// Head rewriting: hop-by-hop removal, re-framing, X-Forwarded-*, X-Request-Id.
#include <gatehouse/proxy/forward_headers.hpp>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

template <bool IsRequest>
http::message<IsRequest, http::buffer_body> parse(const std::string& head) {
    http::parser<IsRequest, http::buffer_body> p;
    p.body_limit(boost::none);
    boost::system::error_code ec;
    p.put(net::buffer(head), ec);
    EXPECT_FALSE(ec) << ec.message();
    return p.release();
}

std::string upstream_head(const std::string& client_head, forward_context ctx,
                          body_framing framing = body_framing::none, std::uint64_t length = 0) {
    auto p = parse<true>(client_head);
    std::string out;
    write_upstream_request_head(out, p, ctx, framing, length);
    return out;
}

forward_context plain_context() {
    forward_context ctx;
    ctx.peer_ip = "203.0.113.7";
    ctx.client_ip = "203.0.113.7";
    ctx.request_id = "0123456789abcdef0123456789abcdef";
    return ctx;
}

}  // namespace

// Request line, Host, target and end-to-end headers pass unchanged; the request goes out as HTTP/1.1.
TEST(ForwardHeaders, KeepsEndToEndFields) {
    const auto out = upstream_head(
        "GET /api/users:list?page=1&q=a:b HTTP/1.0\r\nHost: app.example\r\nAuthorization: Bearer t\r\nX-App: sub\r\n\r\n",
        plain_context());
    EXPECT_EQ(out.rfind("GET /api/users:list?page=1&q=a:b HTTP/1.1\r\n", 0), 0u);
    EXPECT_NE(out.find("\r\nHost: app.example\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nAuthorization: Bearer t\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nX-App: sub\r\n"), std::string::npos);
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

// Connection, the fields it lists, Keep-Alive, TE, Trailer, Upgrade, Proxy-* and Expect never reach the node.
TEST(ForwardHeaders, RemovesHopByHopFields) {
    const auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
        "TE: trailers\r\nTrailer: X-T\r\nUpgrade: websocket\r\nProxy-Authorization: Basic x\r\nProxy-Connection: x\r\n"
        "Expect: 100-continue\r\nX-Kept: yes\r\n\r\n",
        plain_context());
    for (const char* gone : {"Connection:", "X-Secret", "Keep-Alive", "TE:", "Trailer", "Upgrade", "Proxy-", "Expect"})
        EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in\n" << out;
    EXPECT_NE(out.find("X-Kept: yes"), std::string::npos);
}

// Any number of Connection tokens: 40 listed headers (over two Connection lines) are all removed, in both
// directions, and the unlisted ones stay.
TEST(ForwardHeaders, RemovesEveryHeaderListedInConnection) {
    std::string listing[2], fields;
    for (int i = 0; i < 40; ++i) {
        const auto name = "X-Hop-" + std::to_string(i);
        auto& line = listing[i % 2];
        line += (line.empty() ? "" : ", ") + (i % 3 ? name : "x-hop-" + std::to_string(i));  // any case
        fields += name + ": hop\r\n";
    }
    const auto extra = "Connection: " + listing[0] + "\r\nConnection: " + listing[1] + "\r\n" + fields + "X-End: kept\r\n";
    const auto request = upstream_head("GET / HTTP/1.1\r\nHost: a\r\n" + extra + "\r\n", plain_context());
    EXPECT_EQ(request.find("X-Hop-"), std::string::npos) << request;
    EXPECT_NE(request.find("\r\nX-End: kept\r\n"), std::string::npos) << request;

    auto p = parse<false>("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + extra + "\r\n");
    response_head_options o;
    o.framing = response_framing::content_length;
    std::string response;
    write_client_response_head(response, p, o);
    EXPECT_EQ(response.find("X-Hop-"), std::string::npos) << response;
    EXPECT_NE(response.find("\r\nX-End: kept\r\n"), std::string::npos) << response;
}

// An untrusted peer's X-Forwarded-* and X-Real-IP are replaced by what gatehouse saw.
TEST(ForwardHeaders, ReplacesForwardedFieldsOfUntrustedPeer) {
    const auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n"
        "X-Forwarded-Host: evil\r\nX-Real-IP: 1.2.3.4\r\n\r\n",
        plain_context());
    EXPECT_NE(out.find("X-Forwarded-For: 203.0.113.7\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Forwarded-Host: a.example\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Real-IP: 203.0.113.7\r\n"), std::string::npos);
    EXPECT_EQ(out.find("1.2.3.4"), std::string::npos);
    EXPECT_EQ(out.find("evil"), std::string::npos);
}

// Behind a trusted peer the node sees `X-Forwarded-For: <client>, <hops>` and `X-Real-IP: <client>` only; the
// client's own X-Forwarded-For lines, -Proto and -Host are replaced.
TEST(ForwardHeaders, WritesResolvedClientAndHops) {
    auto ctx = plain_context();
    ctx.client_ip = "198.51.100.1";
    ctx.forwarded_hops = "10.0.0.2, 203.0.113.7";
    const auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.1\r\nX-Forwarded-For: 10.0.0.2\r\n"
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example\r\nX-Real-IP: 6.6.6.6\r\n\r\n",
        ctx);
    EXPECT_NE(out.find("\r\nX-Forwarded-For: 198.51.100.1, 10.0.0.2, 203.0.113.7\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-Forwarded-For"), out.rfind("X-Forwarded-For")) << out;
    EXPECT_NE(out.find("\r\nX-Real-IP: 198.51.100.1\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("6.6.6.6"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-Proto: http\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-Host: a\r\n"), std::string::npos) << out;
}

// proxy.trust_forwarded_host_proto keeps the (first) X-Forwarded-Proto/-Host a trusted peer sent.
TEST(ForwardHeaders, KeepsForwardedHostProtoWhenTold) {
    auto ctx = plain_context();
    ctx.keep_forwarded_host_proto = true;
    auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example\r\n\r\n", ctx);
    EXPECT_NE(out.find("\r\nX-Forwarded-Proto: https\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-Host: app.example\r\n"), std::string::npos) << out;
    // Nothing sent: gatehouse's own values.
    out = upstream_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", ctx);
    EXPECT_NE(out.find("\r\nX-Forwarded-Proto: http\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-Host: a\r\n"), std::string::npos) << out;
}

// The node gets exactly one X-Request-Id, the one gatehouse decided (the client's lines are dropped).
TEST(ForwardHeaders, WritesTheDecidedRequestId) {
    auto out = upstream_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", plain_context());
    EXPECT_NE(out.find("X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"), std::string::npos);
    out = upstream_head("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\nX-Request-Id: c\r\n\r\n",
                        plain_context());
    EXPECT_NE(out.find("X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-Request-Id"), out.rfind("X-Request-Id")) << out;
}

// A client's X-Request-Id is kept only when it is 1-128 of [A-Za-z0-9._-].
TEST(ForwardHeaders, SaneRequestIds) {
    for (const char* ok : {"a", "req-1.2_3", "0123456789abcdef0123456789abcdef", "ABC-def"})
        EXPECT_TRUE(is_sane_request_id(ok)) << ok;
    EXPECT_TRUE(is_sane_request_id(std::string(128, 'x')));
    EXPECT_FALSE(is_sane_request_id(std::string(129, 'x')));
    for (const char* bad : {"", "a b", "a\"b", "a\\b", "x maintenance=1", "caf\xc3\xa9", "a\tb", "a/b", "a;b", "a=b"})
        EXPECT_FALSE(is_sane_request_id(bad)) << bad;
}

// Framing is rebuilt: exactly one Content-Length or Transfer-Encoding, whatever the client sent.
TEST(ForwardHeaders, RebuildsFraming) {
    auto out = upstream_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                             plain_context(), body_framing::content_length, 5);
    EXPECT_EQ(out.find("Content-Length: 5\r\n"), out.rfind("Content-Length"));
    out = upstream_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", plain_context(),
                        body_framing::chunked);
    EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos);
}

// Response heads lose hop-by-hop fields, get rebuilt framing, the request id and Connection as needed.
TEST(ForwardHeaders, RewritesResponseHead) {
    auto p = parse<false>(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\n"
        "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nx-new-token: abc\r\n\r\n");
    response_head_options o;
    o.framing = response_framing::chunked;
    o.request_id = "rid";
    std::string out;
    write_client_response_head(out, p, o);
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(out.find("x-new-token: abc\r\n"), std::string::npos);
    EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Request-Id: rid\r\n"), std::string::npos);
    EXPECT_EQ(out.find("X-Hop"), std::string::npos);
    EXPECT_EQ(out.find("Keep-Alive"), std::string::npos);
    EXPECT_EQ(out.find("Connection"), std::string::npos);

    o.keep_alive = false;
    out.clear();
    write_client_response_head(out, p, o);
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);

    o.keep_alive = true;
    o.client_http10 = true;
    o.framing = response_framing::content_length;
    o.content_length = 42;
    out.clear();
    write_client_response_head(out, p, o);
    EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_NE(out.find("Content-Length: 42\r\n"), std::string::npos);
}

TEST(WithoutCookie, RemovesOnlyTheNamedCookie) {
    using gatehouse::proxy::without_cookie;
    EXPECT_EQ(without_cookie("a=1; op=secret; b=2", "op"), "a=1; b=2");
    EXPECT_EQ(without_cookie("op=secret", "op"), "");
    EXPECT_EQ(without_cookie("op=1;op=2; opx=3", "op"), "opx=3");
    EXPECT_EQ(without_cookie("a=1;  b=2", "op"), "a=1; b=2");
}
