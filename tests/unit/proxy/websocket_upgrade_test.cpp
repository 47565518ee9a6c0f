// The WebSocket upgrade rules (which requests become tunnels, which 101 answers switch) and the heads they produce.
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/websocket_upgrade.hpp>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

constexpr const char* key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455's example nonce

template <bool IsRequest>
http::message<IsRequest, http::buffer_body> parse(const std::string& head) {
    http::parser<IsRequest, http::buffer_body> p;
    p.body_limit(boost::none);
    boost::system::error_code ec;
    p.put(net::buffer(head), ec);
    EXPECT_FALSE(ec) << ec.message();
    return p.release();
}

/// A browser's upgrade request to NocoBase's /ws, with `extra` fields appended.
std::string upgrade_head(std::string method = "GET", std::string version = "1.1", std::string extra = {}) {
    return method + " /ws?__appName=main HTTP/" + version +
           "\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

upgrade_request decide(const std::string& head, body_framing framing = body_framing::none) {
    return websocket_upgrade_of(parse<true>(head), framing);
}

forward_context context(bool upgrade) {
    forward_context ctx;
    ctx.peer_ip = "203.0.113.7";
    ctx.client_ip = "203.0.113.7";
    ctx.request_id = "0123456789abcdef0123456789abcdef";
    ctx.websocket_upgrade = upgrade;
    return ctx;
}

std::string upstream_head(const std::string& client_head, bool upgrade) {
    std::string out;
    write_upstream_request_head(out, parse<true>(client_head), context(upgrade), body_framing::none, 0);
    return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
}

}  // namespace

// What a browser sends is a valid upgrade; header names and tokens are case-insensitive, lists are read whole.
TEST(WebSocketUpgrade, BrowserRequestIsValid) {
    EXPECT_EQ(decide(upgrade_head()), upgrade_request::websocket);
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\nconnection: keep-alive, upgrade\r\nupgrade: WebSocket\r\n"
                     "sec-websocket-key: " + std::string(key) + "\r\nsec-websocket-version: 13\r\n\r\n"),
              upgrade_request::websocket);
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Key: " + std::string(key) +
                     "\r\nSec-WebSocket-Version: 13\r\n\r\n"),
              upgrade_request::websocket);
}

// No Upgrade field, or one naming another protocol: not an upgrade at all.
TEST(WebSocketUpgrade, OtherRequestsAskNothing) {
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n"), upgrade_request::none);
    EXPECT_EQ(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
              upgrade_request::none);
    EXPECT_EQ(to_string(upgrade_request::none), "");
    EXPECT_EQ(to_string(upgrade_request::websocket), "");
}

// Each rule of RFC 6455 4.1 that fails makes the request a plain one, with a reason for the log.
TEST(WebSocketUpgrade, InvalidUpgradesArePlainRequests) {
    EXPECT_EQ(decide(upgrade_head("POST")), upgrade_request::not_get);
    EXPECT_EQ(decide(upgrade_head("GET", "1.0")), upgrade_request::http10);
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: " + std::string(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n"),
              upgrade_request::no_connection_token);
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n"),
              upgrade_request::bad_key);
    EXPECT_EQ(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: " + std::string(key) + "\r\n\r\n"),
              upgrade_request::bad_version);
    EXPECT_EQ(decide(upgrade_head("GET", "1.1", "Content-Length: 5\r\n"), body_framing::content_length),
              upgrade_request::with_body);
    for (auto r : {upgrade_request::not_get, upgrade_request::http10, upgrade_request::no_connection_token,
                   upgrade_request::bad_key, upgrade_request::bad_version, upgrade_request::with_body})
        EXPECT_FALSE(to_string(r).empty()) << static_cast<int>(r);
}

// The key must be one base64 nonce of 16 bytes: missing, short, long, repeated or with other characters is refused.
TEST(WebSocketUpgrade, KeyMustBeOneSixteenByteNonce) {
    const auto with_key = [](const std::string& fields) {
        return decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + fields +
                      "Sec-WebSocket-Version: 13\r\n\r\n");
    };
    EXPECT_EQ(with_key("Sec-WebSocket-Key: " + std::string(key) + "\r\n"), upgrade_request::websocket);
    EXPECT_EQ(with_key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n"), upgrade_request::bad_key);
    EXPECT_EQ(with_key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n"), upgrade_request::bad_key);
    EXPECT_EQ(with_key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n"), upgrade_request::bad_key);
    EXPECT_EQ(with_key("Sec-WebSocket-Key: " + std::string(key) + "\r\nSec-WebSocket-Key: " + key + "\r\n"),
              upgrade_request::bad_key);
}

// A node's 101 switches only when it names websocket in Upgrade and upgrade in Connection.
TEST(WebSocketUpgrade, SwitchingAnswer) {
    EXPECT_TRUE(switches_to_websocket(parse<false>(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")));
    EXPECT_TRUE(switches_to_websocket(
        parse<false>("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n\r\n")));
    EXPECT_FALSE(switches_to_websocket(parse<false>("HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")));
    EXPECT_FALSE(switches_to_websocket(parse<false>("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n")));
    EXPECT_FALSE(switches_to_websocket(
        parse<false>("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n")));
}

// A valid upgrade reaches the node with exactly one Connection: upgrade and one Upgrade: websocket, its
// Sec-WebSocket-* fields, and without the other tokens Connection listed.
TEST(WebSocketUpgrade, NodeGetsUpgradeFieldsOfValidUpgrade) {
    const auto out = upstream_head(upgrade_head("GET", "1.1",
                                                "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                                                "Connection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"),
                                   true);
    EXPECT_EQ(out.rfind("GET /ws?__appName=main HTTP/1.1\r\n", 0), 0u) << out;
    EXPECT_EQ(count(out, "Connection:"), 1u) << out;
    EXPECT_EQ(count(out, "Upgrade:"), 1u) << out;
    EXPECT_NE(out.find("\r\nConnection: upgrade\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nSec-WebSocket-Key: " + std::string(key) + "\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-Secret"), std::string::npos) << out;
    EXPECT_EQ(out.find("Keep-Alive"), std::string::npos) << out;
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
}

// Any other request loses Connection and Upgrade as before (an invalid upgrade is proxied as a plain request).
TEST(WebSocketUpgrade, PlainRequestLosesUpgradeFields) {
    const auto out = upstream_head(upgrade_head("POST"), false);
    EXPECT_EQ(out.find("Connection:"), std::string::npos) << out;
    EXPECT_EQ(out.find("Upgrade:"), std::string::npos) << out;
}

// The client's 101: the node's end-to-end fields (Sec-WebSocket-Accept), Connection: upgrade and Upgrade: websocket,
// no framing and no keep-alive field.
TEST(WebSocketUpgrade, ClientGetsSwitchingHead) {
    auto p = parse<false>("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\n"
                          "X-Hop: 1\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    response_head_options o;
    o.switching_protocols = true;
    o.request_id = "abc";
    std::string out;
    write_client_response_head(out, p, o);
    EXPECT_EQ(out.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos) << out;
    EXPECT_EQ(count(out, "Connection:"), 1u) << out;
    EXPECT_EQ(count(out, "Upgrade:"), 1u) << out;
    EXPECT_NE(out.find("\r\nConnection: upgrade\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-Hop"), std::string::npos) << out;
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Request-Id: abc\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

// A read that holds exactly one close frame (from a client, masked, or from a node) is recognised; data frames, a
// close frame with more bytes after it, or a cut one are not.
TEST(WebSocketUpgrade, RecognisesALoneCloseFrame) {
    using namespace std::string_literals;
    EXPECT_TRUE(is_close_frame("\x88\x00"s));                                    // node, no payload
    EXPECT_TRUE(is_close_frame("\x88\x05\x03\xe8" "bye"s));                      // node, code 1000 "bye"
    EXPECT_TRUE(is_close_frame("\x88\x82\x01\x02\x03\x04\x02\xea"s));            // client, masked code 1000
    EXPECT_FALSE(is_close_frame("\x81\x05hello"s));                              // a text frame
    EXPECT_FALSE(is_close_frame("\x88\x05\x03\xe8" "bye\x81\x00"s));             // followed by other bytes
    EXPECT_FALSE(is_close_frame("\x88\x05\x03\xe8"s));                           // cut short
    EXPECT_FALSE(is_close_frame("\x88\x7e\x00\x80"s));                           // longer than a control frame
    EXPECT_FALSE(is_close_frame(""));
}
