// Head rewriting towards the node: hop-by-hop removal, X-Forwarded-* and X-Real-IP, X-Request-Id.
#include "harness.hpp"

#include <regex>

namespace gatehouse::test {
namespace {

class HeaderRewriting : public GatehouseTest {};

bool is_request_id(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{32}")); }

// Connection and the fields it lists, Keep-Alive, TE, Trailer, Upgrade and Proxy-Authorization never reach the node.
TEST_F(HeaderRewriting, HopByHopHeadersAreRemovedBeforeTheNode) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto secret = unique_marker("secret");
    const auto r = get(gh.port(), "/headers",
                       "Connection: keep-alive, X-Hop-Listed\r\n"
                       "X-Hop-Listed: " + secret + "\r\n"
                       "Keep-Alive: timeout=5, max=100\r\n"
                       "TE: trailers\r\n"
                       "Trailer: X-Checksum\r\n"
                       "Upgrade: websocket\r\n"
                       "Proxy-Authorization: Basic " + secret + "\r\n"
                       "X-Kept: yes\r\n");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    for (const char* name : {"Connection", "X-Hop-Listed", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization"})
        EXPECT_TRUE(head_fields(head, name).empty()) << name << " reached the node:\n" << head;
    EXPECT_FALSE(node.received(secret)) << head;
    EXPECT_EQ(head_field(head, "X-Kept"), "yes") << head;
}

// X-Forwarded-For/-Proto/-Host and X-Real-IP sent by an untrusted client are replaced by what gatehouse saw.
TEST_F(HeaderRewriting, ClientForwardedHeadersAreReplaced) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto r = get(gh.port(), "/headers",
                       "X-Forwarded-For: 6.6.6.6\r\n"
                       "X-Forwarded-For: 7.7.7.7, 8.8.8.8\r\n"
                       "X-Forwarded-Proto: https\r\n"
                       "X-Forwarded-Host: evil.example\r\n"
                       "X-Real-IP: 9.9.9.9\r\n",
                       "app.example.test");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"app.example.test"}) << head;
    EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"127.0.0.1"}) << head;
    for (const char* spoofed : {"6.6.6.6", "7.7.7.7", "8.8.8.8", "9.9.9.9", "evil.example", "https"})
        EXPECT_EQ(head.find(spoofed), std::string::npos) << spoofed << " reached the node:\n" << head;
}

// A client inside trusted_proxies has its X-Forwarded-For appended to (and its -Proto/-Host kept).
TEST_F(HeaderRewriting, TrustedProxyForwardedForIsAppendedTo) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"}});
    const auto r = get(gh.port(), "/headers",
                       "X-Forwarded-For: 203.0.113.9\r\n"
                       "X-Forwarded-Proto: https\r\n"
                       "X-Forwarded-Host: public.example\r\n",
                       "internal.example");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"203.0.113.9, 127.0.0.1"}) << head;
    EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"203.0.113.9"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"https"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"public.example"}) << head;
}

// Without an X-Request-Id, gatehouse generates one (32 hex digits), sends it to the node and returns it.
TEST_F(HeaderRewriting, RequestIdIsGeneratedAndReturnedToTheClient) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
        c.send(get_request("/"));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
        const auto sent = head_fields(node.last_head(), "X-Request-Id");
        ASSERT_EQ(sent.size(), 1u) << node.last_head();
        EXPECT_TRUE(is_request_id(sent[0])) << sent[0];
        EXPECT_EQ(r.count("X-Request-Id"), 1u) << r.raw;
        EXPECT_EQ(r.header("X-Request-Id"), sent[0]);
        ids.push_back(sent[0]);
    }
    EXPECT_NE(ids[0], ids[1]);
}

// An X-Request-Id sent by the client is kept: the node and the client see that same value.
TEST_F(HeaderRewriting, ClientRequestIdIsKept) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto id = unique_marker("req-id-");
    const auto r = get(gh.port(), "/", "X-Request-Id: " + id + "\r\n");
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(head_fields(node.last_head(), "X-Request-Id"), std::vector<std::string>{id}) << node.last_head();
    EXPECT_EQ(r.count("X-Request-Id"), 1u) << r.raw;
    EXPECT_EQ(r.header("X-Request-Id"), id);
}

}  // namespace
}  // namespace gatehouse::test
