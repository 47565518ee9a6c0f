// TLS termination with a real client: TLS 1.2 and 1.3 (1.1 refused), SNI with a default, ALPN, resumption,
// handshakes that fail or stall, certificates reloaded under an open connection, `check`'s errors and warning,
// X-Forwarded-Proto, HSTS and redirect_https. Certificates are made with the openssl command for each test.
#include "admin_client.hpp"
#include "harness.hpp"
#include "run_command.hpp"
#include "support/tls_client.hpp"
#include "support/websocket_node.hpp"
#include "support/wss_client.hpp"

#include <openssl/ssl.h>

#include <csignal>
#include <cstdio>
#include <fstream>

namespace gatehouse::test {
namespace {

struct cert_files {
    std::string cert, key;
};

class Tls : public GatehouseTest {
protected:
    /// Runs a shell command bounded to 30 s; its exit code and what it printed (stdout and stderr).
    static std::pair<int, std::string> shell(const std::string& command) {
        std::string out;
        FILE* p = ::popen(("timeout 30 " + command + " 2>&1").c_str(), "r");
        if (!p) return {-1, out};
        char buf[4096];
        while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        const int status = ::pclose(p);
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
    }

    /// A self-signed EC certificate for `cn` with `sans` (e.g. "DNS:a.test,DNS:*.w.test"), valid `days`, written
    /// as <file>.pem and <file>.key in the scratch directory.
    cert_files make_cert(const std::string& file, const std::string& cn, const std::string& sans, int days = 30) {
        cert_files f{scratch_dir() + "/" + file + ".pem", scratch_dir() + "/" + file + ".key"};
        const auto [code, out] = shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                                       "-keyout " + f.key + " -out " + f.cert + " -days " + std::to_string(days) +
                                       " -subj /CN=" + cn + " -addext subjectAltName=" + sans);
        EXPECT_EQ(code, 0) << out;
        return f;
    }

    /// A directory <scratch>/<name> set up for `openssl ca -config ca.cnf` (its database, serial and policy).
    std::string ca_dir(const std::string& name) {
        const std::string d = scratch_dir() + "/" + name;
        std::filesystem::create_directories(d);
        std::ofstream(d + "/ca.cnf") << "[ca]\ndefault_ca=d\n[d]\ndatabase=" << d << "/index.txt\nnew_certs_dir=" << d
                                     << "\nserial=" << d << "/serial\npolicy=p\ndefault_md=sha256\n[p]\ncommonName=supplied\n";
        std::ofstream(d + "/index.txt");
        std::ofstream(d + "/serial") << "01\n";
        return d;
    }

    /// A certificate that expired in 2020 (signed by a throw-away CA: `openssl req` cannot back-date).
    cert_files make_expired_cert() {
        const std::string d = ca_dir("expired");
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        const auto [code, out] = shell(
            "sh -c 'cd " + d + " && openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 30 -subj /CN=ca && "
            "openssl req -new" + ec + " -keyout k.pem -out r.csr -subj /CN=old.test && "
            "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in r.csr -out c.pem -notext "
            "-startdate 20200101000000Z -enddate 20200102000000Z'");
        EXPECT_EQ(code, 0) << out;
        return {d + "/c.pem", d + "/k.pem"};
    }

    /// gatehouse with a TLS listener on tls_port_ and `certs` ([tls] cert/key), plus `extra` [tls] values.
    gatehouse_process& start_tls(const cert_files& certs, gatehouse_options options = {},
                                 std::vector<std::pair<std::string, std::string>> extra = {}) {
        tls_port_ = reserve_port();
        const auto port = reserve_port(), admin_port = reserve_port();
        if (options.nodes.empty())
            for (const auto& u : upstreams_) options.nodes.push_back({u->name(), u->address()});
        std::string toml = make_config(options, port, admin_port);
        toml += "\n[tls]\nlisten = [\"127.0.0.1:" + std::to_string(tls_port_) + "\"]\ncert = \"" + certs.cert +
                "\"\nkey = \"" + certs.key + "\"\n";
        for (const auto& [k, v] : extra) toml += k + " = " + v + "\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port));
        auto& g = *gatehouses_.back();
        EXPECT_TRUE(wait_until([&] { return tls_client(tls_port_).ok(); }, 10s)) << g.log();
        return g;
    }

    /// `gatehouse check` on a configuration whose [tls] names `certs`.
    command_result check_with(const cert_files& certs) {
        const std::string path = scratch_dir() + "/check.toml";
        std::ofstream(path) << "[upstream]\n[[upstream.node]]\nname = \"n\"\naddress = \"127.0.0.1:1\"\n"
                            << "[admin]\nlisten = \"\"\n"
                            << "[tls]\nlisten = [\"127.0.0.1:1\"]\ncert = \"" << certs.cert << "\"\nkey = \"" << certs.key
                            << "\"\n";
        return run_gatehouse({"check", "-c", path}, scratch_dir());
    }

    std::uint16_t tls_port_ = 0;
};

double sample(const std::string& metrics, const std::string& series) {
    const auto pos = metrics.find("\n" + series + " ");
    if (pos == std::string::npos) return -1;
    return std::stod(metrics.substr(pos + series.size() + 2));
}

std::string scrape(const gatehouse_process& g) { return admin_call(g, "GET", "/metrics", "", "").body; }

// TLS 1.2 and 1.3 both work end to end (with ALPN http/1.1); TLS 1.1 is refused and counted.
TEST_F(Tls, Tls12And13ServeRequestsAndTls11IsRefused) {
    auto& node = add_upstream("n1");
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"));
    for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        tls_client c(tls_port_, {.min_version = version, .max_version = version});
        ASSERT_TRUE(c.ok()) << c.error();
        EXPECT_EQ(c.protocol(), version == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
        EXPECT_EQ(c.alpn(), "http/1.1");
        c.send(get_request("/over-tls?v=" + std::to_string(version)));
        const auto r = c.read_response();
        EXPECT_EQ(first_line(r), "HTTP/1.1 200 OK") << r;
        EXPECT_TRUE(node.received("GET /over-tls?v=" + std::to_string(version) + " HTTP/1.1"));
    }
    tls_client old(tls_port_, {.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION});
    EXPECT_FALSE(old.ok());
    EXPECT_TRUE(wait_until([&] { return sample(scrape(g), "gatehouse_tls_handshake_failures_total{reason=\"protocol\"}") == 1; }, 5s))
        << scrape(g);
    // And with the openssl command line client, for a second opinion on the protocol versions.
    const auto port = std::to_string(tls_port_);
    EXPECT_NE(shell("openssl s_client -connect 127.0.0.1:" + port + " -tls1_3 < /dev/null").second.find("TLSv1.3"),
              std::string::npos);
    const auto [code, out] = shell("openssl s_client -connect 127.0.0.1:" + port +
                                   " -tls1_1 -cipher DEFAULT@SECLEVEL=0 < /dev/null");
    EXPECT_NE(code, 0) << out;
}

// A request over TLS reaches the node with X-Forwarded-Proto: https (plain ones with http), and tls.hsts is added
// to answers on TLS only.
TEST_F(Tls, ForwardedProtoIsHttpsAndHstsOnlyOnTls) {
    auto& node = add_upstream("n1");
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"), {}, {{"hsts", "\"max-age=31536000\""}});
    const auto r = tls_get(tls_port_, "/secure");
    EXPECT_EQ(first_line(r), "HTTP/1.1 200 OK") << r;
    EXPECT_EQ(head_field(r, "Strict-Transport-Security"), "max-age=31536000");
    EXPECT_EQ(head_field(node.last_head(), "X-Forwarded-Proto"), "https");
    const auto plain = get(g.port(), "/plain");
    EXPECT_EQ(plain.status, 200u);
    EXPECT_FALSE(plain.has("Strict-Transport-Security"));
    EXPECT_EQ(head_field(node.last_head(), "X-Forwarded-Proto"), "http");
}

// gatehouse's own answers on TLS carry tls.hsts too (a 502 when the node is gone, the maintenance 503); on a plain
// listener they do not.
TEST_F(Tls, HstsOnOwnAnswersOverTls) {
    const std::string gone = closed_address();  // nothing listens there
    const std::vector<std::pair<std::string, std::string>> hsts{{"hsts", "\"max-age=600\""}};
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"), {.nodes = {{"gone", gone}}}, hsts);
    const auto r = tls_get(tls_port_, "/down");
    EXPECT_EQ(first_line(r), "HTTP/1.1 502 Bad Gateway") << r;
    EXPECT_EQ(head_field(r, "Strict-Transport-Security"), "max-age=600") << r;
    const auto plain = get(g.port(), "/down");
    EXPECT_EQ(plain.status, 502u);
    EXPECT_FALSE(plain.has("Strict-Transport-Security"));
    ASSERT_EQ(admin_call(g, "PUT", "/api/maintenance", R"({"enabled": true})", "").status, 200u);
    const auto m = tls_get(tls_port_, "/");
    EXPECT_EQ(first_line(m), "HTTP/1.1 503 Service Unavailable") << m;
    EXPECT_EQ(head_field(m, "Strict-Transport-Security"), "max-age=600") << m;
}

// An ordinary close of a TLS connection sends close_notify first: after "Connection: close", at the keep-alive
// timeout and on a graceful stop (and with Asio's stream, tls.direct_io = false, after "Connection: close").
TEST_F(Tls, CloseNotifyOnOrdinaryCloses) {
    add_upstream("n1");
    gatehouse_options o;
    o.timeouts = {{"client_idle", "2s"}};
    for (const bool direct : {true, false}) {
        SCOPED_TRACE(direct ? "direct_io" : "Asio's stream");
        auto& g = start_tls(make_cert(direct ? "a" : "b", "a.test", "DNS:a.test"), o,
                            {{"direct_io", direct ? "true" : "false"}});
        tls_client closing(tls_port_);
        ASSERT_TRUE(closing.ok());
        closing.send("GET /bye HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(first_line(closing.read_response()), "HTTP/1.1 200 OK");
        EXPECT_EQ(closing.how_closed(10s), "close_notify");
        if (!direct) break;
        tls_client idle(tls_port_);
        ASSERT_TRUE(idle.ok());
        idle.send(get_request("/idle"));
        EXPECT_EQ(first_line(idle.read_response()), "HTTP/1.1 200 OK");
        EXPECT_EQ(idle.how_closed(10s), "close_notify");  // timeouts.client_idle
        tls_client stopping(tls_port_);
        ASSERT_TRUE(stopping.ok());
        stopping.send(get_request("/stop"));
        EXPECT_EQ(first_line(stopping.read_response()), "HTTP/1.1 200 OK");
        g.signal(SIGTERM);
        EXPECT_EQ(stopping.how_closed(10s), "close_notify");
        EXPECT_EQ(g.wait_exit(10s), 0);
    }
}

// [tls] ocsp_response: the operator's DER response (made here by `openssl ocsp` as the CA's responder) is stapled for
// a client that asks (s_client -status) and re-read on reload; a file that is no OCSP response is a config error.
TEST_F(Tls, StaplesTheOcspResponseFromItsFile) {
    add_upstream("n1");
    const std::string d = ca_dir("ocsp");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const auto [code, out] = shell(
        "sh -c 'cd " + d + " && openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 30 -subj /CN=ca && "
        "openssl req -new" + ec + " -keyout k.pem -out r.csr -subj /CN=ocsp.test && "
        "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in r.csr -out c.pem -notext -days 30 && "
        "openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -issuer ca.pem -cert c.pem "
        "-respout resp.der -ndays 1'");
    ASSERT_EQ(code, 0) << out;
    auto& g = start_tls({d + "/c.pem", d + "/k.pem"}, {}, {{"ocsp_response", "\"" + d + "/resp.der\""}});
    const std::string connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port_);
    const auto stapled = shell(connect + " -status < /dev/null").second;
    EXPECT_NE(stapled.find("OCSP Response Status: successful"), std::string::npos) << stapled;
    EXPECT_NE(stapled.find("Cert Status: good"), std::string::npos) << stapled;
    EXPECT_EQ(shell(connect + " < /dev/null").second.find("OCSP Response Status"), std::string::npos);

    std::ofstream(d + "/resp.der", std::ios::trunc) << "not DER\n";
    g.signal(SIGHUP);
    ASSERT_TRUE(g.wait_for_log("keeping the running configuration", 5s)) << g.log();
    EXPECT_NE(g.log().find("tls.ocsp_response: " + d + "/resp.der: is not a DER OCSP response"), std::string::npos)
        << g.log();
    EXPECT_NE(shell(connect + " -status < /dev/null").second.find("Cert Status: good"), std::string::npos);
}

// SNI picks the certificate naming the host (exact names and wildcards); unknown or absent SNI gets the default.
TEST_F(Tls, SniChoosesTheCertificateAndUnknownNamesGetTheDefault) {
    add_upstream("n1");
    const auto other = make_cert("b", "b.test", "DNS:b.test,DNS:*.w.test");
    start_tls(make_cert("default", "default.test", "DNS:default.test"), {},
              {{"certificate", "[{cert = \"" + other.cert + "\", key = \"" + other.key + "\"}]"}});
    const std::pair<std::string, std::string> cases[] = {
        {"b.test", "b.test"}, {"B.Test", "b.test"}, {"x.w.test", "b.test"},
        {"a.x.w.test", "default.test"}, {"w.test", "default.test"}, {"unknown.test", "default.test"},
        {"", "default.test"}};
    for (const auto& [sni, expected] : cases) {
        tls_client c(tls_port_, {.server_name = sni});
        ASSERT_TRUE(c.ok()) << sni << ": " << c.error();
        EXPECT_EQ(c.peer_common_name(), expected) << "SNI '" << sni << "'";
    }
}

// A session is resumed (ticket) on a new connection, also with two workers.
TEST_F(Tls, SessionsAreResumed) {
    add_upstream("n1");
    start_tls(make_cert("a", "a.test", "DNS:a.test"), {.workers = 2});
    for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        for (int i = 0; i < 4; ++i) {  // connections spread over both workers
            tls_client first(tls_port_, {.min_version = version, .max_version = version});
            ASSERT_TRUE(first.ok());
            first.send(get_request("/"));  // on TLS 1.3 the ticket comes after the handshake
            EXPECT_EQ(first_line(first.read_response()), "HTTP/1.1 200 OK");
            tls_client again(tls_port_, {.min_version = version, .max_version = version}, first.session());
            ASSERT_TRUE(again.ok());
            EXPECT_TRUE(again.reused()) << "version " << version << ", connection " << i;
        }
    }
    const std::string port = std::to_string(tls_port_), sess = scratch_dir() + "/sess";
    shell("openssl s_client -connect 127.0.0.1:" + port + " -tls1_2 -sess_out " + sess + " < /dev/null");
    const auto out = shell("openssl s_client -connect 127.0.0.1:" + port + " -tls1_2 -sess_in " + sess + " < /dev/null").second;
    EXPECT_NE(out.find("Reused, TLSv1.2"), std::string::npos) << out;
}

// Plain HTTP to the TLS port, a client that never starts its handshake and one that stops in the middle are
// closed within timeouts.client_header, reach no node, and are counted by reason.
TEST_F(Tls, FailedAndStalledHandshakesAreClosedWithinClientHeader) {
    auto& node = add_upstream("n1");
    gatehouse_options o;
    o.timeouts = {{"client_header", "1s"}};
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"), o);
    const auto plain = raw_exchange(tls_port_, get_request("/plain-on-tls"), 10s);
    EXPECT_TRUE(plain.closed);
    EXPECT_EQ(plain.data.find("HTTP/1.1"), std::string::npos) << plain.data;
    const auto silent = raw_exchange(tls_port_, "", 10s);
    EXPECT_TRUE(silent.closed);
    EXPECT_GE(silent.elapsed, 800ms);
    EXPECT_LE(silent.elapsed, 4s);
    const auto partial = raw_exchange(tls_port_, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 10s);
    EXPECT_TRUE(partial.closed);
    EXPECT_GE(partial.elapsed, 800ms);
    EXPECT_LE(partial.elapsed, 4s);
    const auto m = scrape(g);
    EXPECT_EQ(sample(m, "gatehouse_tls_handshake_failures_total{reason=\"plain_http\"}"), 1) << m;
    EXPECT_EQ(sample(m, "gatehouse_tls_handshake_failures_total{reason=\"timeout\"}"), 2) << m;
    EXPECT_EQ(node.requests(), 0u);
    EXPECT_EQ(node.connections(), 0u);
}

// A reload reads the certificate files again: an open keep-alive TLS connection goes on, a new one sees the new
// certificate. A reload to a broken certificate fails and keeps the one in use.
TEST_F(Tls, ReloadServesNewCertificatesAndKeepsOpenConnections) {
    add_upstream("n1");
    const auto files = make_cert("live", "first.test", "DNS:first.test");
    auto& g = start_tls(files);
    tls_client open(tls_port_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.peer_common_name(), "first.test");
    open.send(get_request("/before"));
    EXPECT_EQ(first_line(open.read_response()), "HTTP/1.1 200 OK");

    const auto next = make_cert("next", "second.test", "DNS:second.test");
    std::filesystem::copy_file(next.cert, files.cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(next.key, files.key, std::filesystem::copy_options::overwrite_existing);
    g.signal(SIGHUP);
    ASSERT_TRUE(g.wait_for_log("reloaded ", 5s)) << g.log();
    EXPECT_EQ(tls_client(tls_port_).peer_common_name(), "second.test");
    open.send(get_request("/after"));
    EXPECT_EQ(first_line(open.read_response()), "HTTP/1.1 200 OK");

    std::ofstream(files.key, std::ios::trunc) << "not a key\n";
    g.signal(SIGHUP);
    ASSERT_TRUE(g.wait_for_log("keeping the running configuration", 5s)) << g.log();
    EXPECT_NE(g.log().find(files.key), std::string::npos);
    EXPECT_EQ(tls_client(tls_port_).peer_common_name(), "second.test");
}

// `gatehouse check` refuses a missing, mismatched or expired certificate (naming the file), and so does serve; check
// warns about one that expires within 14 days.
TEST_F(Tls, CheckRefusesBadCertificatesAndWarnsBeforeExpiry) {
    const auto good = make_cert("good", "good.test", "DNS:good.test");
    const auto other = make_cert("other", "other.test", "DNS:other.test");
    const auto fine = check_with(good);
    EXPECT_EQ(fine.exit_code, 0) << fine.output;
    EXPECT_EQ(fine.output.find("expires"), std::string::npos) << fine.output;

    const cert_files missing{scratch_dir() + "/missing.pem", good.key};
    const auto m = check_with(missing);
    EXPECT_EQ(m.exit_code, 1) << m.output;
    EXPECT_NE(m.output.find("tls.cert: " + missing.cert + ": cannot read file"), std::string::npos) << m.output;

    // serve refuses it too, before listening
    const auto serve = run_gatehouse({"serve", "-c", scratch_dir() + "/check.toml"}, scratch_dir());
    EXPECT_EQ(serve.exit_code, 1) << serve.output;
    EXPECT_NE(serve.output.find("cannot start: "), std::string::npos) << serve.output;
    EXPECT_NE(serve.output.find(missing.cert + ": cannot read file"), std::string::npos) << serve.output;

    const auto mismatched = check_with({good.cert, other.key});
    EXPECT_EQ(mismatched.exit_code, 1) << mismatched.output;
    EXPECT_NE(mismatched.output.find("tls.key: " + other.key + ": does not match"), std::string::npos) << mismatched.output;

    const auto expired_files = make_expired_cert();
    const auto expired = check_with(expired_files);
    EXPECT_EQ(expired.exit_code, 1) << expired.output;
    EXPECT_NE(expired.output.find(expired_files.cert + ": the certificate has expired"), std::string::npos)
        << expired.output;

    const auto soon = check_with(make_cert("soon", "soon.test", "DNS:soon.test", 5));
    EXPECT_EQ(soon.exit_code, 0) << soon.output;
    EXPECT_NE(soon.output.find("warning: "), std::string::npos) << soon.output;
    EXPECT_NE(soon.output.find("expires in 4 day(s)"), std::string::npos) << soon.output;
}

// proxy.redirect_https: a plain request gets a 301 to the same host and target on the TLS port; without Host, 400.
TEST_F(Tls, RedirectHttpsAnswersPlainRequestsWith301) {
    auto& node = add_upstream("n1");
    gatehouse_options o;
    o.proxy = {{"redirect_https", "true"}};
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"), o);
    const auto r = get(g.port(), "/app/page?x=1&y=2", {}, "shop.test:8080");
    EXPECT_EQ(r.status, 301u);
    EXPECT_EQ(r.header("Location"), "https://shop.test:" + std::to_string(tls_port_) + "/app/page?x=1&y=2");
    const auto no_host = raw_exchange(g.port(), "GET /x HTTP/1.0\r\n\r\n", 5s);
    EXPECT_EQ(no_host.status(), 400u) << no_host.data;
    EXPECT_EQ(first_line(tls_get(tls_port_, "/over-tls")), "HTTP/1.1 200 OK");  // TLS requests go to the node
    EXPECT_EQ(node.requests(), 1u);
}

// What an idle keep-alive TLS connection costs gatehouse after one request (printed; about 21 KiB with OpenSSL on
// the socket itself, tls.direct_io; Asio's TLS stream held about 69 KiB: 2 x 17 KiB buffers and a 2 x 17 KiB BIO pair).
TEST_F(Tls, IdleConnectionMemory) {
#ifdef GATEHOUSE_TEST_SANITIZED
    GTEST_SKIP() << "RSS of a sanitizer build counts its shadow memory and quarantine, not gatehouse's buffers";
#endif
    add_upstream("n1");
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"));
    EXPECT_EQ(first_line(tls_get(tls_port_, "/warm")), "HTTP/1.1 200 OK");
    constexpr int connections = 200;
    const long before = g.rss_kib();
    std::vector<std::unique_ptr<tls_client>> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(std::make_unique<tls_client>(tls_port_));
        ASSERT_TRUE(clients.back()->ok());
        clients.back()->send(get_request("/idle"));
        ASSERT_EQ(first_line(clients.back()->read_response()), "HTTP/1.1 200 OK");
    }
    EXPECT_TRUE(wait_until([&] { return sample(scrape(g), "gatehouse_downstream_connections{state=\"idle\"}") == connections; },
                           5s));
    const long after = g.rss_kib();
    ASSERT_GT(before, 0);
    const double per_connection = double(after - before) * 1024 / connections;
    std::cout << "gatehouse RSS per idle TLS connection: " << per_connection << " bytes\n";
    EXPECT_LT(per_connection, 36 * 1024);
}

// wss: a WebSocket through a TLS listener echoes 10,000 messages and one of 16 MiB unchanged (the tunnel reads the
// client through OpenSSL, including bytes it decrypted ahead), and the node sees X-Forwarded-Proto: https.
TEST_F(Tls, WssEchoesManyMessagesAndOneOf16MiB) {
    websocket_node node("ws");
    gatehouse_options o;
    o.nodes = {{node.name(), node.address()}};
    auto& g = start_tls(make_cert("a", "a.test", "DNS:a.test"), o);
    {
        wss_client ws(tls_port_, "/ws?__appName=main");
        ASSERT_TRUE(wait_until([&] { return node.upgrades() == 1; }, 5s));
        EXPECT_EQ(head_field(node.heads().back(), "X-Forwarded-Proto"), "https");
        for (int i = 0; i < 10'000; ++i) {
            const std::string m = "message " + std::to_string(i);
            ws.send(m);
            ASSERT_EQ(ws.read(), m) << "message " << i;
        }
        const std::string big = pattern(7, 16 * 1024 * 1024);
        ws.send(big, true);
        const std::string back = ws.read();
        ASSERT_EQ(back.size(), big.size());
        EXPECT_TRUE(back == big) << "the 16 MiB message changed on the way";
        ws.close();
    }
    EXPECT_TRUE(wait_until([&] { return node.client_closes() == 1 && node.open() == 0; }, 5s));
    ASSERT_TRUE(g.wait_for_log("ws_closed_by=", 5s)) << g.log();  // the access log line of the closed tunnel
    gatehouses_.clear();  // before the node it talks to
}

}  // namespace
}  // namespace gatehouse::test
