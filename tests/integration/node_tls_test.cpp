// TLS from gatehouse to https:// nodes: certificates made with `openssl` at test time, a TLS front (tests/support)
// before real test nodes. Requests, bodies, pooled TLS connections, SNI, verification failures (502, never the
// node's name; health checks mark the node down with the reason), verify = false, mutual TLS, WebSocket.
#include "admin_client.hpp"
#include "harness.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_front.hpp"
#include "support/websocket_client.hpp"
#include "support/websocket_node.hpp"

namespace gatehouse::test {
namespace {

class NodeTls : public GatehouseTest {
protected:
    /// A TLS front with `cert` ("node", "other", "wrong") before the plain node on `target_port`.
    tls_front& add_front(std::uint16_t target_port, const std::string& cert = "node", bool require_client = false) {
        fronts_.push_back(std::make_unique<tls_front>(tls_front_options{
            certs_.file(cert + ".pem"), certs_.file(cert + ".key"), target_port,
            require_client ? certs_.file("ca.pem") : std::string()}));
        return *fronts_.back();
    }
    /// upstream.tls as an inline table: the test CA, plus `extra` ("sni = \"x\"", ...).
    std::pair<std::string, std::string> tls(const std::string& extra = {}) const {
        return {"tls", "{ ca_file = \"" + certs_.file("ca.pem") + "\"" + (extra.empty() ? "" : ", " + extra) + " }"};
    }
    void TearDown() override {
        GatehouseTest::TearDown();
        gatehouses_.clear();  // before the fronts and nodes they talk to
        fronts_.clear();
        ws_nodes_.clear();
    }

    test_certificates certs_;
    std::vector<std::unique_ptr<tls_front>> fronts_;
    std::vector<std::unique_ptr<websocket_node>> ws_nodes_;
};

std::string post_request(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// health checks every 200 ms, 300 ms timeout, rise and fall 2.
std::vector<std::pair<std::string, std::string>> fast_checks() {
    return {{"enabled", "true"}, {"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"rise", "2"}, {"fall", "2"},
            {"jitter", "\"0ms\""}};
}

}  // namespace

// GET, POST with a body and a 64 KiB answer reach an https:// node through TLS; the keep-alive node connection
// is pooled and reused (the node sees one TLS connection for 23 requests, at most 3); an IP address gets no SNI.
TEST_F(NodeTls, ProxiesRequestsOverPooledTlsConnections) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port());
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls()}});
    client_connection c(gh.port());
    c.send(get_request("/"));
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "node=alpha");
    const std::string body = pattern(3, 10000);
    c.send(post_request("/echo", body));
    r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_TRUE(r.body == body) << "the POST body changed on the way";
    c.send(get_request("/download/65536"));
    r = c.read_response();
    ASSERT_EQ(r.status, 200u);
    ASSERT_EQ(r.body.size(), 65536u);
    EXPECT_TRUE(matches_pattern(0, r.body.data(), r.body.size()));
    for (int i = 0; i < 20; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        ASSERT_EQ(c.read_response().status, 200u);
    }
    EXPECT_EQ(node.requests(), 23u);
    // One connection normally; a busy sanitizer run may park one past the 1 s a POST accepts (a fresh one then).
    EXPECT_LE(front.handshakes(), 3u) << "the TLS connection to the node was not reused";
    for (const auto& name : front.server_names()) EXPECT_EQ(name, "") << "no SNI for an IP address";
}

// A chunked answer and one delimited by the node's close (no close_notify from the front) arrive whole.
TEST_F(NodeTls, ChunkedAndCloseDelimitedAnswers) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port());
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls()}});
    client_connection c(gh.port());
    c.send(get_request("/chunked/200000"));
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200u);
    ASSERT_EQ(r.body.size(), 200000u);
    EXPECT_TRUE(matches_pattern(0, r.body.data(), r.body.size()));
    c.send(get_request("/eof/100000"));
    r = c.read_response();
    ASSERT_EQ(r.status, 200u);
    ASSERT_EQ(r.body.size(), 100000u);
    EXPECT_TRUE(matches_pattern(0, r.body.data(), r.body.size()));
}

// A node addressed by name gets its name as SNI (and its certificate is verified for it); upstream.tls.sni
// replaces it (sent and verified: the "other" certificate names only other.test).
TEST_F(NodeTls, SendsSniAsConfigured) {
    auto& node = add_upstream("alpha");
    auto& by_name = add_front(node.port());
    auto& gh = start_gatehouse({.nodes = {{"alpha", "https://localhost:" + std::to_string(by_name.port())}},
                                .upstream = {tls()}});
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
    EXPECT_EQ(by_name.server_names(), std::vector<std::string>{"localhost"});

    auto& other = add_front(node.port(), "other");
    auto& gh2 = start_gatehouse({.nodes = {{"alpha", other.https_address()}}, .upstream = {tls("sni = \"other.test\"")}});
    EXPECT_EQ(get(gh2.port(), "/").status, 200u);
    EXPECT_EQ(other.server_names(), std::vector<std::string>{"other.test"});
}

// A certificate from no trusted CA fails the handshake: the client gets 502 naming neither node nor address, the
// node never sees the request, and the log has OpenSSL's reason.
TEST_F(NodeTls, UntrustedCertificateIs502WithTheReasonLogged) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port(), "wrong");
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls()}});
    const auto r = get(gh.port(), "/");
    EXPECT_EQ(r.status, 502u) << r.raw;
    EXPECT_EQ(r.raw.find("alpha"), std::string::npos) << r.raw;
    EXPECT_EQ(r.raw.find(std::to_string(front.port())), std::string::npos) << r.raw;
    EXPECT_EQ(node.requests(), 0u);
    EXPECT_TRUE(wait_until([&] { return front.failed_handshakes() >= 1; }, 5s)) << "the front saw no refused handshake";
    ASSERT_TRUE(gh.wait_for_log("TLS handshake with alpha failed", 5s)) << gh.log();
    EXPECT_NE(gh.log().find("certificate verify failed"), std::string::npos) << gh.log();
}

// The right CA but a certificate for another name (the node is addressed by IP: its IP SAN is missing) is refused.
TEST_F(NodeTls, CertificateForAnotherNameIsRefused) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port(), "other");
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls()}});
    EXPECT_EQ(get(gh.port(), "/").status, 502u);
    EXPECT_EQ(node.requests(), 0u);
    ASSERT_TRUE(gh.wait_for_log("IP address mismatch", 5s)) << gh.log();
}

// A failed handshake sent no byte of the request: even a POST goes on to the next node.
TEST_F(NodeTls, FailedHandshakeMovesEvenAPostToAnotherNode) {
    auto& bad = add_upstream("bad");
    auto& good = add_upstream("good");
    auto& bad_front = add_front(bad.port(), "wrong");
    auto& good_front = add_front(good.port());
    auto& gh = start_gatehouse({.nodes = {{"bad", bad_front.https_address()}, {"good", good_front.https_address()}},
                                .upstream = {tls(), {"tries", "2"}}});
    for (int i = 0; i < 4; ++i) {
        client_connection c(gh.port());
        c.send(post_request("/echo", "payload"));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
        EXPECT_EQ(r.header("X-Node"), "good");
    }
    EXPECT_EQ(bad.requests(), 0u);
    EXPECT_EQ(good.requests(), 4u);
}

// Health checks go through TLS with the same verification: an untrusted node is marked down, the reason in the
// log and in /api/status; a trusted one is up.
TEST_F(NodeTls, HealthChecksVerifyTheCertificate) {
    auto& bad = add_upstream("bad");
    auto& good = add_upstream("good");
    auto& bad_front = add_front(bad.port(), "wrong");
    auto& good_front = add_front(good.port());
    auto& gh = start_gatehouse({.nodes = {{"bad", bad_front.https_address()}, {"good", good_front.https_address()}},
                                .upstream = {tls()}, .health_check = fast_checks(),
                                .admin_token = std::string(admin_token)});
    ASSERT_TRUE(gh.wait_for_log("bad down:", 5s)) << gh.log();
    EXPECT_NE(gh.log().find("tls: certificate verify failed"), std::string::npos) << gh.log();
    const auto status = admin_call(gh, "GET", "/api/status").body;
    EXPECT_NE(status.find("tls: certificate verify failed"), std::string::npos) << status;
    EXPECT_GE(good.health_checks(), 1u);
    EXPECT_EQ(bad.health_checks(), 0u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(get(gh.port(), "/").header("X-Node"), "good");
}

// verify = false accepts a certificate no CA signed (gatehouse check warns about it).
TEST_F(NodeTls, VerifyFalseAcceptsAnyCertificate) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port(), "wrong");
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {{"tls", "{ verify = false }"}}});
    const auto r = get(gh.port(), "/");
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "node=alpha");
}

// A node that asks for a client certificate gets upstream.tls.cert; without one its handshake fails.
TEST_F(NodeTls, ClientCertificateForMutualTls) {
    auto& node = add_upstream("alpha");
    auto& front = add_front(node.port(), "node", true);
    const std::string with_cert = "cert = \"" + certs_.file("client.pem") + "\", key = \"" + certs_.file("client.key") + "\"";
    auto& gh = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls(with_cert)}});
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
    auto& without = start_gatehouse({.nodes = {{"alpha", front.https_address()}}, .upstream = {tls()}});
    EXPECT_EQ(get(without.port(), "/").status, 502u);
    EXPECT_EQ(node.requests(), 1u);
}

// A WebSocket upgrade to an https:// node: the tunnel's node side runs through TLS, both ways, small messages and
// a 1 MiB one.
TEST_F(NodeTls, WebSocketEchoThroughATlsNode) {
    ws_nodes_.push_back(std::make_unique<websocket_node>("ws"));
    auto& node = *ws_nodes_.back();
    auto& front = add_front(node.port());
    auto& gh = start_gatehouse({.nodes = {{"ws", front.https_address()}}, .upstream = {tls()}});
    websocket_client ws(gh.port(), "/ws");
    ASSERT_EQ(node.upgrades(), 1u);
    for (int i = 0; i < 1000; ++i) {
        const std::string m = "message " + std::to_string(i);
        ws.send(m);
        ASSERT_EQ(ws.read(), m) << "message " << i;
    }
    const std::string big = pattern(11, 1024 * 1024);
    ws.send(big, true);
    const std::string back = ws.read();
    ASSERT_EQ(back.size(), big.size());
    EXPECT_TRUE(back == big) << "the 1 MiB message changed on the way";
    ws.close();
    EXPECT_TRUE(wait_until([&] { return node.client_closes() == 1 && node.open() == 0; }, 5s));
    EXPECT_EQ(front.handshakes(), 1u);
}

}  // namespace gatehouse::test
