// The rules of the edge (issue 18) where later work added paths of their own: WebSocket upgrades (their head is
// rewritten like any request's: forwarded fields, any number of Connection tokens) and TLS listeners (forwarded
// fields, no POST or upgrade sent twice, a client that stops reading, the per-client connection cap).
#include "harness.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"
#include "support/websocket_node.hpp"

#include <memory>
#include <thread>

namespace gatehouse::test {
namespace {

constexpr std::string_view upgrade_fields =
    "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// 40 `X-Hop-<i>: secret` fields and the Connection line that lists them all, `upgrade` last (past the 16 tokens
/// kept inline by the hop-by-hop filter).
std::string forty_listed_fields() {
    std::string list = "Connection: ", fields;
    for (int i = 0; i < 40; ++i) {
        list += "X-Hop-" + std::to_string(i) + ", ";
        fields += "X-Hop-" + std::to_string(i) + ": secret\r\n";
    }
    return list + "upgrade\r\n" + fields;
}

class EdgeRules : public GatehouseTest {
protected:
    static void SetUpTestSuite() { certs_ = std::make_unique<test_certificates>(); }
    static void TearDownTestSuite() { certs_.reset(); }

    /// gatehouse with a plain listener (port()) and a TLS one (tls_port_) in front of `o.nodes`; `extra` is more
    /// TOML (whole sections) for the configuration.
    gatehouse_process& start_tls(const gatehouse_options& o, const std::string& extra = {}) {
        tls_port_ = reserve_port();
        const auto port = reserve_port(), admin_port = reserve_port();
        std::string toml = make_config(o, port, admin_port) + extra;
        toml += "\n[tls]\nlisten = [\"127.0.0.1:" + std::to_string(tls_port_) + "\"]\ncert = \"" +
                certs_->file("node.pem") + "\"\nkey = \"" + certs_->file("node.key") + "\"\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port));
        auto& g = *gatehouses_.back();
        EXPECT_TRUE(wait_until([&] { return tls_client(tls_port_).ok(); }, 10s)) << g.log();
        return g;
    }
    websocket_node& add_ws_node(std::string name) {
        ws_node_ = std::make_unique<websocket_node>(std::move(name));
        return *ws_node_;
    }
    void TearDown() override {
        GatehouseTest::TearDown();
        gatehouses_.clear();  // before the node they talk to
        ws_node_.reset();
    }

    static std::unique_ptr<test_certificates> certs_;
    std::unique_ptr<websocket_node> ws_node_;
    std::uint16_t tls_port_ = 0;
};
std::unique_ptr<test_certificates> EdgeRules::certs_;

// An upgrade behind a trusted proxy reaches the node with the resolved client (X-Forwarded-For: client, trusted
// hops; X-Real-IP: client), none of the client's own left-most entries, and without any of 40 fields its
// Connection lists, while `upgrade`, listed 41st, still makes it an upgrade.
TEST_F(EdgeRules, UpgradeHeadIsRewrittenLikeAnyRequest) {
    auto& node = add_ws_node("ws");
    auto& gh = start_gatehouse({.nodes = {{"ws", node.address()}}, .trusted_proxies = {"127.0.0.0/8"}});
    client_connection c(gh.port());
    c.send(get_request("/ws", std::string(upgrade_fields) + forty_listed_fields() +
                                  "X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\nX-Real-IP: 9.9.9.9\r\n"
                                  "X-Forwarded-For: 127.0.0.5:4444\r\n"));
    ASSERT_TRUE(wait_until([&] { return node.upgrades() == 1u; }, 5s)) << "the upgrade was not switched";
    const auto head = node.heads().back();
    EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"203.0.113.9, 127.0.0.5, 127.0.0.1"})
        << head;
    EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"203.0.113.9"}) << head;
    EXPECT_EQ(head_fields(head, "Connection"), std::vector<std::string>{"upgrade"}) << head;
    EXPECT_EQ(head_fields(head, "Upgrade"), std::vector<std::string>{"websocket"}) << head;
    for (const char* spoofed : {"6.6.6.6", "9.9.9.9", "4444", "X-Hop-", "secret"})
        EXPECT_EQ(head.find(spoofed), std::string::npos) << spoofed << " reached the node:\n" << head;
}

// On a TLS listener a client's X-Forwarded-*/X-Real-IP are replaced as on a plain one (Proto: https), for a
// request and for a wss upgrade alike.
TEST_F(EdgeRules, TlsListenerReplacesForwardedFieldsOfRequestsAndUpgrades) {
    auto& node = add_ws_node("ws");
    start_tls({.nodes = {{"ws", node.address()}}});
    const std::string spoofed = "X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 9.9.9.9\r\nX-Forwarded-Proto: http\r\n"
                                "X-Forwarded-Host: evil.example\r\n";
    const auto expect_replaced = [](const std::string& head) {
        EXPECT_EQ(head_fields(head, "X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"}) << head;
        EXPECT_EQ(head_fields(head, "X-Real-IP"), std::vector<std::string>{"127.0.0.1"}) << head;
        EXPECT_EQ(head_fields(head, "X-Forwarded-Proto"), std::vector<std::string>{"https"}) << head;
        EXPECT_EQ(head_fields(head, "X-Forwarded-Host"), std::vector<std::string>{"app.test"}) << head;
        for (const char* s : {"6.6.6.6", "9.9.9.9", "evil.example"})
            EXPECT_EQ(head.find(s), std::string::npos) << s << " reached the node:\n" << head;
    };
    tls_client plain(tls_port_);
    ASSERT_TRUE(plain.ok()) << plain.error();
    plain.send(get_request("/plain", spoofed, "app.test"));
    EXPECT_EQ(first_line(plain.read_response()), "HTTP/1.1 200 OK");
    expect_replaced(node.heads().back());

    tls_client wss(tls_port_);
    ASSERT_TRUE(wss.ok()) << wss.error();
    wss.send(get_request("/ws", std::string(upgrade_fields) + "Connection: Upgrade\r\n" + spoofed, "app.test"));
    ASSERT_TRUE(wait_until([&] { return node.upgrades() == 1u; }, 5s)) << "the wss upgrade was not switched";
    expect_replaced(node.heads().back());
}

// Through a TLS listener, a POST and an upgrade whose node closes before answering get a 502 and never reach the
// other node (a GET would be sent there).
TEST_F(EdgeRules, TlsListenerNeverSendsAPostOrAnUpgradeTwice) {
    const std::string post = "POST /slow/3000 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx";
    const std::string upgrade = get_request("/slow/3000", std::string(upgrade_fields) + "Connection: Upgrade\r\n");
    for (const auto& request : {post, upgrade}) {
        SCOPED_TRACE(first_line(request));
        auto& alpha = add_upstream("alpha");
        auto& beta = add_upstream("beta");
        start_tls({.nodes = {{"alpha", alpha.address()}, {"beta", beta.address()}}, .upstream = {{"tries", "2"}}});
        // The node that receives the request stops (closing the connection without an answer) while it holds it.
        std::thread stopper([&] {
            wait_until([&] { return alpha.requests() + beta.requests() >= 1; }, 5s);
            (alpha.requests() > 0 ? alpha : beta).stop();
        });
        tls_client c(tls_port_);
        c.send(request);
        const auto answer = c.read_response();
        stopper.join();
        EXPECT_EQ(first_line(answer), "HTTP/1.1 502 Bad Gateway") << answer;
        EXPECT_EQ(alpha.requests() + beta.requests(), 1u) << "the request reached a second node";
        gatehouses_.clear();
        upstreams_.clear();
    }
}

// A TLS client that asks for 256 MiB and never reads is cut off after client_idle (1 s), not upstream_response
// (60 s): the node's connection closes within seconds, and so does the client's.
TEST_F(EdgeRules, TlsClientThatStopsReadingIsCutOffByClientIdle) {
    auto& node = add_upstream("alpha");
    start_tls({.nodes = {{"alpha", node.address()}},
               .timeouts = {{"client_idle", "1s"}, {"upstream_response", "60s"}}});
    tls_client c(tls_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    c.send(get_request("/download/268435456"));
    ASSERT_TRUE(node.wait_for_requests(1, 5s));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_until([&] { return node.open_connections() == 0; }, 8s))
        << "the node's connection is still open";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
    EXPECT_TRUE(c.closed_by_peer(5s));
}

// limits.max_connections_per_client counts TLS connections too: with a cap of 1, a second TLS connection from the
// same address is closed before its handshake, and one after the first closed is served.
TEST_F(EdgeRules, PerClientCapCountsTlsConnections) {
    add_upstream("alpha");
    start_tls({.nodes = {{"alpha", upstreams_.back()->address()}}}, "\n[limits]\nmax_connections_per_client = 1\n");
    // The first connection may have to wait for start_tls's own probe connection to end.
    std::unique_ptr<tls_client> first;
    ASSERT_TRUE(wait_until([&] { return (first = std::make_unique<tls_client>(tls_port_))->ok(); }, 5s));
    tls_client second(tls_port_);
    EXPECT_FALSE(second.ok()) << "a second TLS connection was served past the cap";
    first.reset();
    EXPECT_TRUE(wait_until([&] { return tls_client(tls_port_).ok(); }, 5s)) << "the cap never freed up";
}

}  // namespace
}  // namespace gatehouse::test
