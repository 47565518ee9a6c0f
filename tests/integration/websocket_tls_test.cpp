// WebSocket tunnels in the four combinations of a plain or TLS (wss) client and a plain or TLS (https://) node:
// messages around the tunnel's 64-byte read and its 16 KiB piece, drain_websockets_after and a graceful stop
// closing a wss tunnel with close_notify (with gatehouse's own TLS stream and with Asio's, tls.direct_io = false),
// and the memory of idle wss tunnels.
#include "admin_client.hpp"
#include "harness.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_front.hpp"
#include "support/websocket_client.hpp"
#include "support/websocket_node.hpp"
#include "support/wss_client.hpp"

#include <csignal>

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;

/// wss_client or websocket_client behind one interface (both have send, read, read_end and close).
class any_client {
public:
    any_client(bool tls, std::uint16_t port) {
        if (tls) wss_ = std::make_unique<wss_client>(port);
        else ws_ = std::make_unique<websocket_client>(port);
    }
    void send(std::string_view m, bool binary = false) { wss_ ? wss_->send(m, binary) : ws_->send(m, binary); }
    std::string read() { return wss_ ? wss_->read() : ws_->read(); }
    websocket_end read_end(std::chrono::milliseconds t) { return wss_ ? wss_->read_end(t) : ws_->read_end(t); }
    void close() { wss_ ? wss_->close() : ws_->close(); }
    wss_client* tls() { return wss_.get(); }

private:
    std::unique_ptr<wss_client> wss_;
    std::unique_ptr<websocket_client> ws_;
};

class WebSocketTls : public GatehouseTest {
protected:
    /// gatehouse with a plain listener (port()) and a TLS one (tls_port_, the test CA's node certificate) in front
    /// of one WebSocket node, reached through a TLS front when `tls_node`; no admin token (loopback).
    gatehouse_process& start(bool tls_node, gatehouse_options o = {}) {
        node_ = std::make_unique<websocket_node>("ws");
        std::string address = node_->address();
        if (tls_node) {
            front_ = std::make_unique<tls_front>(
                tls_front_options{certs_.file("node.pem"), certs_.file("node.key"), node_->port(), {}});
            address = front_->https_address();
            o.upstream.push_back({"tls", "{ ca_file = \"" + certs_.file("ca.pem") + "\" }"});
        }
        o.nodes = {{"ws", address}};
        tls_port_ = reserve_port();
        const auto port = reserve_port(), admin_port = reserve_port();
        std::string toml = make_config(o, port, admin_port);
        toml += "\n[tls]\nlisten = [\"127.0.0.1:" + std::to_string(tls_port_) + "\"]\ncert = \"" +
                certs_.file("node.pem") + "\"\nkey = \"" + certs_.file("node.key") + "\"\n" +
                "direct_io = " + (direct_io_ ? "true" : "false") + "\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port));
        return *gatehouses_.back();
    }
    std::uint16_t port_for(bool tls_client) const { return tls_client ? tls_port_ : gatehouses_.back()->port(); }
    void TearDown() override {
        GatehouseTest::TearDown();
        gatehouses_.clear();  // before the front and the node they talk to
        front_.reset();
        node_.reset();
    }

    test_certificates certs_;
    std::unique_ptr<websocket_node> node_;
    std::unique_ptr<tls_front> front_;
    std::uint16_t tls_port_ = 0;
    bool direct_io_ = true;  ///< [tls] direct_io of the next start()
};

/// The same tests with Asio's TLS stream (tls.direct_io = false), the fallback.
class WebSocketTlsAsioStream : public WebSocketTls {
protected:
    WebSocketTlsAsioStream() { direct_io_ = false; }
};

std::string pattern_of(std::size_t n, char first) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 23);
    return s;
}

/// A client's frame is 6 bytes of header and mask up to 125 bytes of payload, 8 up to 65535: these sizes end
/// around the tunnel's 64-byte read (57..59 give 63..65 bytes), its 16 KiB piece, and well past both.
constexpr std::size_t message_sizes[] = {1, 57, 58, 59, 121, 122, 123, 1000, 16376, 16377, 16378, 70000, 1 << 20};

/// Echo of every size in both directions, a burst of 500 small messages, then the client's close reaching the node.
void echo_all_sizes(bool tls_client, std::uint16_t port, websocket_node& node) {
    any_client ws(tls_client, port);
    for (const std::size_t n : message_sizes) {
        const std::string m = pattern_of(n, static_cast<char>('a' + n % 7));
        ws.send(m, true);
        const std::string back = ws.read();
        ASSERT_EQ(back.size(), m.size()) << "message of " << n << " bytes";
        EXPECT_TRUE(back == m) << "the message of " << n << " bytes changed on the way";
    }
    for (int i = 0; i < 500; ++i) ws.send("burst " + std::to_string(i));
    for (int i = 0; i < 500; ++i) ASSERT_EQ(ws.read(), "burst " + std::to_string(i));
    const std::size_t closes = node.client_closes();
    ws.close();
    EXPECT_TRUE(wait_until([&] { return node.client_closes() == closes + 1 && node.open() == 0; }, 5s));
}

}  // namespace

// Plain node: ws and wss clients.
TEST_F(WebSocketTls, EchoesEverySizeToAPlainNode) {
    start(false);
    echo_all_sizes(false, port_for(false), *node_);
    echo_all_sizes(true, port_for(true), *node_);
}

// https:// node: ws and wss clients (the wss x TLS node combination reads and writes through OpenSSL on both sides).
TEST_F(WebSocketTls, EchoesEverySizeToATlsNode) {
    start(true);
    echo_all_sizes(false, port_for(false), *node_);
    echo_all_sizes(true, port_for(true), *node_);
}

namespace {

/// upstream.drain_websockets_after on a wss tunnel through an https:// node: it keeps working while its node is
/// drained, then gatehouse ends it cleanly: close_notify before the FIN to the client, the node's side closed too.
void drained_node_closes_with_close_notify(gatehouse_process& gh, std::uint16_t tls_port, websocket_node& node) {
    wss_client ws(tls_port);
    ws.send("before");
    ASSERT_EQ(ws.read(), "before");
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/ws/drain", {}, "").status, 200u);
    const auto drained = clock::now();
    ws.send("while draining");
    EXPECT_EQ(ws.read(), "while draining");
    EXPECT_EQ(ws.read_end(20s), websocket_end::connection);
    EXPECT_GE(clock::now() - drained, 700ms) << "closed before drain_websockets_after";
    EXPECT_TRUE(ws.ended_with_close_notify()) << "the wss tunnel ended without close_notify";
    EXPECT_TRUE(wait_until([&] { return node.open() == 0; }, 5s)) << "the node's side of the tunnel is open";
    EXPECT_TRUE(gh.wait_for_log("ws_closed_by=gatehouse", 5s)) << gh.log();
}

/// SIGTERM: an open wss tunnel is closed before shutdown_drain ends, with close_notify, and gatehouse exits 0.
void graceful_stop_closes_with_close_notify(gatehouse_process& gh, std::uint16_t tls_port) {
    wss_client ws(tls_port);
    ws.send("hello");
    ASSERT_EQ(ws.read(), "hello");
    gh.signal(SIGTERM);
    EXPECT_EQ(ws.read_end(5s), websocket_end::connection);
    EXPECT_TRUE(ws.ended_with_close_notify()) << "the wss tunnel ended without close_notify";
    EXPECT_EQ(gh.wait_exit(5s), 0);
    EXPECT_NE(gh.log().find("ws_closed_by=gatehouse"), std::string::npos) << gh.log();
}

const gatehouse_options drain_after_1s{.upstream = {{"drain_websockets_after", "\"1s\""}}};
const gatehouse_options shutdown_drain_3s{.timeouts = {{"shutdown_drain", "3s"}}};

}  // namespace

TEST_F(WebSocketTls, DrainedNodeClosesAWssTunnelWithCloseNotify) {
    auto& gh = start(true, drain_after_1s);
    drained_node_closes_with_close_notify(gh, tls_port_, *node_);
}
TEST_F(WebSocketTlsAsioStream, DrainedNodeClosesAWssTunnelWithCloseNotify) {
    auto& gh = start(true, drain_after_1s);
    drained_node_closes_with_close_notify(gh, tls_port_, *node_);
}

TEST_F(WebSocketTls, GracefulStopClosesAWssTunnelWithCloseNotify) {
    auto& gh = start(false, shutdown_drain_3s);
    graceful_stop_closes_with_close_notify(gh, tls_port_);
}
TEST_F(WebSocketTlsAsioStream, GracefulStopClosesAWssTunnelWithCloseNotify) {
    auto& gh = start(false, shutdown_drain_3s);
    graceful_stop_closes_with_close_notify(gh, tls_port_);
}

// The node ends a wss tunnel (a close frame, then its FIN): the client gets the close frame, and the tunnel's end
// after it is clean (Beast's close handshake over TLS waits for close_notify; without it close() throws).
TEST_F(WebSocketTls, NodeClosingEndsAWssTunnelCleanly) {
    auto& gh = start(true);
    wss_client ws(tls_port_);
    ws.send("close");
    EXPECT_EQ(ws.read_end(10s), websocket_end::close_frame);
    EXPECT_TRUE(wait_until([&] { return node_->open() == 0; }, 5s));
    EXPECT_TRUE(gh.wait_for_log("ws_closed_by=node", 5s)) << gh.log();
}

// Idle wss tunnels: what each costs gatehouse after one 1000-byte message each way (printed for the README); no
// tunnel buffer is held, and with gatehouse's own TLS stream OpenSSL frees its record buffers while idle, so the
// bound is the idle TLS connection's (tls_test's IdleConnectionMemory: measured 19 KiB; Asio's stream held 67 KiB).
TEST_F(WebSocketTls, IdleWssTunnelsCostTheirTlsStateOnly) {
#ifdef GATEHOUSE_TEST_SANITIZED
    GTEST_SKIP() << "RSS of a sanitizer build counts its shadow memory and quarantine, not gatehouse's buffers";
#endif
    auto& gh = start(false);
    {
        wss_client warm(tls_port_);  // the first tunnel grows pools that later ones reuse
        warm.send("warm");
        ASSERT_EQ(warm.read(), "warm");
    }
    constexpr int tunnels = 100;
    const std::string message(1000, 'm');
    const long before = gh.rss_kib();
    std::vector<std::unique_ptr<wss_client>> clients;
    for (int i = 0; i < tunnels; ++i) {
        clients.push_back(std::make_unique<wss_client>(tls_port_));
        clients.back()->send(message);
        ASSERT_EQ(clients.back()->read(), message);
    }
    const long after = gh.rss_kib();
    ASSERT_GT(before, 0);
    const double per_tunnel = double(after - before) * 1024 / tunnels;
    std::cout << "gatehouse RSS per idle wss tunnel: " << per_tunnel << " bytes\n";
    EXPECT_LT(per_tunnel, 40 * 1024);
}

}  // namespace gatehouse::test
