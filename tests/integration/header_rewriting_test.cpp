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

// Behind a trusted proxy, every X-Forwarded-For line forms one list; the node sees exactly
// `X-Forwarded-For: <client>, <trusted hops>, <peer>` and `X-Real-IP: <client>`: the client's own left-most
// entries (which NocoBase would take as the client) and its X-Real-IP are dropped, ports too.
TEST_F(HeaderRewriting, TrustedProxyChainReachesTheNodeAsClientAndHops) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"}});
    const auto r = get(gh.port(), "/headers",
                       "X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n"
                       "X-Real-IP: 9.9.9.9\r\n"
                       "X-Forwarded-For: 127.0.0.5:4444\r\n",
                       "internal.example");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"203.0.113.9, 127.0.0.5, 127.0.0.1"})
        << head;
    EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"203.0.113.9"}) << head;
    for (const char* spoofed : {"6.6.6.6", "9.9.9.9", "4444"})
        EXPECT_EQ(head.find(spoofed), std::string::npos) << spoofed << " reached the node:\n" << head;

    // IPv6 entries with brackets and ports.
    const auto v6 = get(gh.port(), "/headers", "X-Forwarded-For: [2001:db8::7]:443\r\n");
    ASSERT_EQ(v6.status, 200u) << v6.raw;
    EXPECT_EQ(head_fields(node.last_head(), "X-Forwarded-For"), std::vector<std::string>{"2001:db8::7, 127.0.0.1"});
    EXPECT_EQ(head_fields(node.last_head(), "X-Real-IP"), std::vector<std::string>{"2001:db8::7"});
}

// A chain with an entry that is not an address makes the client unknown: the node is told only what gatehouse
// can vouch for, the peer (X-Forwarded-For and X-Real-IP), and the access log says "unknown" with the peer.
TEST_F(HeaderRewriting, UnknownClientIsForwardedAsItsPeerAndLoggedAsUnknown) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"}});
    const auto unknown_target = "/headers/" + unique_marker("unknown");
    const auto r = get(gh.port(), unknown_target, "X-Forwarded-For: 203.0.113.9, unknown\r\n");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"}) << head;
    EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"127.0.0.1"}) << head;
    EXPECT_EQ(head.find("203.0.113.9"), std::string::npos) << head;

    // The access log (stdout) records the resolved client first and the peer at the end.
    const auto known_target = "/headers/" + unique_marker("known");
    ASSERT_EQ(get(gh.port(), known_target, "X-Forwarded-For: 198.51.100.4:5555\r\n").status, 200u);
    ASSERT_TRUE(gh.wait_for_log(known_target, 3s)) << gh.log();
    ASSERT_TRUE(gh.wait_for_log(unknown_target, 3s)) << gh.log();
    const auto log = gh.log();
    const auto line_of = [&](const std::string& target) {
        const auto at = log.find("\"GET " + target + " ");
        const auto start = log.rfind('\n', at) + 1;
        return log.substr(start, log.find('\n', at) - start);
    };
    const auto unknown_line = line_of(unknown_target);
    EXPECT_EQ(unknown_line.rfind("unknown - - [", 0), 0u) << unknown_line;
    EXPECT_TRUE(unknown_line.ends_with(" peer=127.0.0.1")) << unknown_line;
    const auto known_line = line_of(known_target);
    EXPECT_EQ(known_line.rfind("198.51.100.4 - - [", 0), 0u) << known_line;
    EXPECT_TRUE(known_line.ends_with(" peer=127.0.0.1")) << known_line;
}

// A trusted peer's X-Forwarded-Proto/-Host are replaced by gatehouse's own values unless
// proxy.trust_forwarded_host_proto is on; an untrusted peer's are replaced even then.
TEST_F(HeaderRewriting, TrustedProxyForwardedProtoIsReplacedUnlessTheOptionIsOn) {
    auto& node = add_upstream("alpha");
    const std::string sent = "X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\n";
    auto& replacing = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"}});
    ASSERT_EQ(get(replacing.port(), "/headers", sent, "internal.example").status, 200u);
    auto head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"internal.example"}) << head;

    auto& keeping = start_gatehouse(
        {.trusted_proxies = {"127.0.0.0/8"}, .proxy = {{"trust_forwarded_host_proto", "true"}}});
    ASSERT_EQ(get(keeping.port(), "/headers", sent, "internal.example").status, 200u);
    head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"https"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"public.example"}) << head;

    auto& untrusted = start_gatehouse({.proxy = {{"trust_forwarded_host_proto", "true"}}});
    ASSERT_EQ(get(untrusted.port(), "/headers", sent, "internal.example").status, 200u);
    head = node.last_head();
    EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"}) << head;
    EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"internal.example"}) << head;
}

// Any number of Connection tokens: 40 headers listed by the client never reach the node, and 40 headers listed
// by the node's Connection never reach the client.
TEST_F(HeaderRewriting, FortyConnectionTokensAreRemovedBothWays) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    std::string request_list, request_fields, response_list, response_fields;
    for (int i = 0; i < 40; ++i) {
        const auto n = std::to_string(i);
        request_list += (i ? ", X-Hop-" : "X-Hop-") + n;
        request_fields += "X-Hop-" + n + ": secret\r\n";
        response_list += (i ? ", X-Reflect-Hop-" : "X-Reflect-Hop-") + n;
        response_fields += "X-Reflect-Hop-" + n + ": secret\r\n";
    }
    const auto r = get(gh.port(), "/reflect",
                       "Connection: " + request_list + "\r\n" + request_fields + response_fields +
                           "X-Reflect-Connection: " + response_list + "\r\nX-Reflect-Kept: yes\r\n");
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(head.find("X-Hop-"), std::string::npos) << "a listed header reached the node:\n" << head;
    EXPECT_NE(head.find("X-Reflect-Hop-39: secret"), std::string::npos) << head;  // not listed by the client
    EXPECT_EQ(r.raw.find("X-Reflect-Hop-"), std::string::npos) << "a header the node listed reached the client:\n"
                                                               << r.raw;
    EXPECT_EQ(r.header("X-Reflect-Kept"), "yes") << r.raw;
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

// An X-Request-Id that is not 1-128 of [A-Za-z0-9._-] is replaced by a generated one, towards the node and back
// to the client.
TEST_F(HeaderRewriting, UnsaneClientRequestIdIsReplaced) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    for (const std::string& bad : {std::string("evil id maintenance=1"), std::string("a\"b"), std::string("caf\xc3\xa9"),
                                  std::string(129, 'x')}) {
        const auto r = get(gh.port(), "/", "X-Request-Id: " + bad + "\r\n");
        ASSERT_EQ(r.status, 200u) << r.raw;
        const auto sent = head_fields(node.last_head(), "X-Request-Id");
        ASSERT_EQ(sent.size(), 1u) << node.last_head();
        EXPECT_TRUE(is_request_id(sent[0])) << bad << " -> " << sent[0];
        EXPECT_EQ(r.count("X-Request-Id"), 1u) << r.raw;
        EXPECT_EQ(r.header("X-Request-Id"), sent[0]) << r.raw;
    }
    const std::string longest(128, 'y');
    ASSERT_EQ(get(gh.port(), "/", "X-Request-Id: " + longest + "\r\n").status, 200u);
    EXPECT_EQ(head_field(node.last_head(), "X-Request-Id"), longest);
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
