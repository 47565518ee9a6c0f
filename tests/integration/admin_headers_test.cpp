// Every admin answer forbids framing and type sniffing; what is served without a token (/healthz, /metrics) needs a
// Host that is an IP address or localhost, on the admin listener and on the metrics listener alike.
#include "admin_client.hpp"

#include <csignal>

namespace gatehouse::test {
namespace {

class AdminHeaders : public GatehouseTest {};

/// One request with the given Host on a fresh connection ("" = no Host line, HTTP/1.0).
http_response with_host(std::uint16_t port, std::string_view target, std::string_view host) {
    client_connection c(port, 10s);
    std::string req = "GET " + std::string(target);
    if (host.empty()) req += " HTTP/1.0\r\n\r\n";
    else req += " HTTP/1.1\r\nHost: " + std::string(host) + "\r\nConnection: close\r\n\r\n";
    c.send(req);
    return c.read_response();
}

void expect_no_framing_no_sniffing(const http_response& r, const std::string& what) {
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY") << what;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_NE(r.header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << what;
}

TEST_F(AdminHeaders, EveryAnswerForbidsFramingAndSniffing) {
    add_upstream("node1");
    auto& gh = start_gatehouse({.admin_token = std::string(admin_token)});
    const auto page = admin_call(gh, "GET", "/", "", "");
    ASSERT_EQ(page.status, 200u);
    expect_no_framing_no_sniffing(page, "status page");
    // The page's own needs: its inline script and style, and fetch() to its own origin; nothing else.
    const auto csp = page.header("Content-Security-Policy");
    for (const char* part : {"default-src 'none'", "script-src 'unsafe-inline'", "style-src 'unsafe-inline'",
                             "connect-src 'self'"})
        EXPECT_NE(csp.find(part), std::string::npos) << part << " in " << csp;

    expect_no_framing_no_sniffing(admin_call(gh, "GET", "/api/status"), "status");
    expect_no_framing_no_sniffing(admin_call(gh, "GET", "/api/status", "", ""), "401");
    expect_no_framing_no_sniffing(admin_call(gh, "GET", "/api/nothing"), "404");
    expect_no_framing_no_sniffing(admin_call(gh, "POST", "/api/status"), "405");
    expect_no_framing_no_sniffing(admin_call(gh, "GET", "/healthz", "", ""), "healthz");
    expect_no_framing_no_sniffing(admin_call(gh, "GET", "/metrics", "", ""), "metrics");
    const auto data_csp = admin_call(gh, "GET", "/api/status").header("Content-Security-Policy");
    EXPECT_NE(data_csp.find("default-src 'none'"), std::string::npos) << data_csp;
    EXPECT_EQ(data_csp.find("unsafe-inline"), std::string::npos) << data_csp;

    client_connection c(gh.admin_port(), 10s);
    c.send("NOT HTTP AT ALL\r\n\r\n");
    const auto malformed = c.read_response();
    EXPECT_EQ(malformed.status, 400u);
    expect_no_framing_no_sniffing(malformed, "malformed request");
}

// A DNS-rebinding page (its own name resolving to 127.0.0.1) cannot read /healthz or /metrics: a Host that is a
// name other than localhost is refused; IP literals (what Prometheus sends for an IP target) and localhost pass.
TEST_F(AdminHeaders, HealthzAndMetricsNeedAnAddressOrLocalhostAsHost) {
    add_upstream("node1");
    auto& gh = start_gatehouse({.admin_token = std::string(admin_token)});
    const auto port = gh.admin_port();
    const std::string p = ":" + std::to_string(port);
    for (const char* target : {"/healthz", "/metrics"}) {
        EXPECT_EQ(with_host(port, target, "rebind.example" + p).status, 403u) << target;
        EXPECT_EQ(with_host(port, target, "").status, 403u) << target << " without Host";
        EXPECT_EQ(with_host(port, target, "127.0.0.1" + p).status, 200u) << target;
        EXPECT_EQ(with_host(port, target, "localhost" + p).status, 200u) << target;
        EXPECT_EQ(with_host(port, target, "[::1]" + p).status, 200u) << target;
        EXPECT_EQ(with_host(port, target, "192.0.2.5" + p).status, 200u) << target;
    }
    EXPECT_TRUE(gh.wait_for_log("Host is neither an IP address nor localhost", 2s)) << gh.log();

    // The separate metrics listener: the same rule (Prometheus sends its target, host:port, as Host).
    const auto metrics_port = reserve_port();
    auto text = gh.config_text() + "\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n";
    gh.signal(SIGTERM);
    ASSERT_EQ(gh.wait_exit(10s), 0);
    gatehouse_process own(text, gh.port(), gh.admin_port());
    EXPECT_EQ(with_host(metrics_port, "/metrics", "gatehouse.example:9902").status, 403u);
    EXPECT_EQ(with_host(metrics_port, "/metrics", "10.1.2.3:9902").status, 200u);
    EXPECT_EQ(with_host(metrics_port, "/healthz", "gatehouse.example:9902").status, 403u);
    EXPECT_EQ(with_host(metrics_port, "/healthz", "127.0.0.1:9902").status, 200u);
}

}  // namespace
}  // namespace gatehouse::test
