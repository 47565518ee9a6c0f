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

// A trusted peer's X-Forwarded-For is appended to and its -Proto/-Host are kept.
TEST(ForwardHeaders, AppendsForTrustedPeer) {
    auto ctx = plain_context();
    ctx.peer_trusted = true;
    ctx.client_ip = "198.51.100.1";
    const auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: https\r\n"
        "X-Forwarded-Host: app.example\r\n\r\n",
        ctx);
    EXPECT_NE(out.find("X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Forwarded-Host: app.example\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Real-IP: 198.51.100.1\r\n"), std::string::npos);
}

// X-Request-Id is added when absent and kept (not duplicated) when present.
TEST(ForwardHeaders, AddsRequestIdOnlyWhenAbsent) {
    auto out = upstream_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", plain_context());
    EXPECT_NE(out.find("X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"), std::string::npos);
    out = upstream_head("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: mine\r\n\r\n", plain_context());
    EXPECT_NE(out.find("X-Request-Id: mine\r\n"), std::string::npos);
    EXPECT_EQ(out.find("0123456789abcdef"), std::string::npos);
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

// The client address behind trusted proxies is the right-most untrusted X-Forwarded-For entry.
TEST(ForwardHeaders, FindsClientBehindTrustedProxies) {
    const auto trusted = std::vector{*config::parse_cidr("10.0.0.0/8")};
    EXPECT_EQ(client_address("10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2", trusted), "198.51.100.1");
    EXPECT_EQ(client_address("203.0.113.7", "198.51.100.1", trusted), "203.0.113.7");
    EXPECT_EQ(client_address("10.0.0.1", "", trusted), "10.0.0.1");
    EXPECT_EQ(client_address("10.0.0.1", "garbage", trusted), "10.0.0.1");
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
