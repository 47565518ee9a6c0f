// nginx::import_config: upstream blocks, listen, TLS, sizes, timeouts and the WebSocket location become gatehouse
// keys; everything else is a comment with its line; the seed's snippet and NocoBase's own config parse as gatehouse
// configurations.
#include <gatehouse/config/load.hpp>
#include <gatehouse/nginx/import.hpp>

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <fstream>
#include <iterator>

namespace gatehouse::nginx {
namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(GATEHOUSE_SOURCE_DIR) + "/tests/unit/nginx/fixtures/" + name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

/// The translation, which must parse as a gatehouse configuration.
config::config parsed(const import_result& r) {
    EXPECT_FALSE(r.error) << r.error->message;
    try {
        return config::parse_config(r.toml, "imported.toml");
    } catch (const config::config_error& e) {
        ADD_FAILURE() << e.what() << "\n" << r.toml;
        return {};
    }
}

// Nginx units in gatehouse's spelling; what is not a plain value is refused.
TEST(NginxImport, ConvertsSizesAndTimes) {
    EXPECT_EQ(size_of("0"), "0");
    EXPECT_EQ(size_of("20M"), "20MiB");
    EXPECT_EQ(size_of("512k"), "512KiB");
    EXPECT_EQ(size_of("1g"), "1GiB");
    EXPECT_FALSE(size_of("$size"));
    EXPECT_FALSE(size_of("20MB"));
    EXPECT_EQ(duration_of("600"), "600s");
    EXPECT_EQ(duration_of("1m30s"), "90s");
    EXPECT_EQ(duration_of("500ms"), "500ms");
    EXPECT_EQ(duration_of("1h"), "3600s");
    EXPECT_FALSE(duration_of("10x"));
    EXPECT_FALSE(duration_of(""));
}

// The seed's snippet: three nodes on port 13000 behind listen 80; its commented ip_hash stays a comment of Nginx's.
TEST(NginxImport, SeedSnippetGivesThreeNodes) {
    const auto r = import_config(fixture("seed_snippet.conf"), "seed_snippet.conf");
    const auto cfg = parsed(r);
    ASSERT_EQ(cfg.upstream.nodes.size(), 3u) << r.toml;
    EXPECT_EQ(cfg.upstream.nodes[0].address.text, "172.31.0.1:13000");
    EXPECT_EQ(cfg.upstream.nodes[2].address.text, "172.31.0.3:13000");
    EXPECT_EQ(cfg.upstream.nodes[1].name, "node2");
    ASSERT_EQ(cfg.proxy.listen.size(), 1u);
    EXPECT_EQ(cfg.proxy.listen[0].text, "0.0.0.0:80");
    EXPECT_TRUE(contains(r.toml, "# line 4: server 172.31.0.1:13000")) << r.toml;
    EXPECT_EQ(cfg.admin.token_path, "/var/lib/gatehouse/admin.token");
}

// A config shaped like NocoBase's image's own: the node, the unlimited body, 600 s timeouts, gzip; static locations, maps and headers
// listed as comments with their lines; the /ws location without a timeout explained.
TEST(NginxImport, NocoBaseImageConfig) {
    const auto r = import_config(fixture("nocobase_image.conf"), "nocobase_image.conf");
    const auto cfg = parsed(r);
    ASSERT_EQ(cfg.upstream.nodes.size(), 1u) << r.toml;
    EXPECT_EQ(cfg.upstream.nodes[0].address.text, "127.0.0.1:13000");
    EXPECT_EQ(cfg.limits.max_request_body, 0u);
    EXPECT_EQ(cfg.timeouts.upstream_connect, std::chrono::seconds(600));
    EXPECT_EQ(cfg.timeouts.upstream_response, std::chrono::seconds(600));
    EXPECT_TRUE(cfg.compression.enabled);
    EXPECT_TRUE(contains(r.toml, "# line 3: map $http_x_forwarded_proto $xfp")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 19: location /storage/uploads/ -- served by Nginx itself")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 20: alias /srv/app/storage/uploads/")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 40: proxy_send_timeout 600")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 59: proxy_set_header Host $app_host -- gatehouse sets it itself"))
        << r.toml;
    EXPECT_TRUE(contains(r.toml, "Nginx closed idle WebSockets after its default 60 s")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# server_name _ (line 14)")) << r.toml;
}

// An upstream with weights, passive-check parameters, ip_hash and keepalive; backup and down servers are left out
// with a comment; an unknown parameter is noted.
TEST(NginxImport, UpstreamParameters) {
    const auto r = import_config("upstream app {\n ip_hash;\n keepalive 16;\n"
                                 " server 10.0.0.1:13000 weight=3 max_fails=2 fail_timeout=30s;\n"
                                 " server 10.0.0.2 max_conns=100;\n server 10.0.0.3:13000 backup;\n"
                                 " server 10.0.0.4:13000 down;\n zone app 64k;\n}\n"
                                 "server { listen 8080; location / { proxy_pass http://app; } }\n",
                                 "t.conf");
    const auto cfg = parsed(r);
    ASSERT_EQ(cfg.upstream.nodes.size(), 2u) << r.toml;
    EXPECT_EQ(cfg.upstream.nodes[0].weight, 3u);
    EXPECT_EQ(cfg.upstream.nodes[1].address.text, "10.0.0.2:80");
    EXPECT_EQ(cfg.upstream.balance, config::balance_policy::ip_hash);
    EXPECT_EQ(cfg.upstream.keepalive, 16u);
    EXPECT_EQ(cfg.health_check.max_fails, 2u);
    EXPECT_EQ(cfg.health_check.fail_timeout, std::chrono::seconds(30));
    EXPECT_TRUE(contains(r.toml, "# line 5: server 10.0.0.2 max_conns=100 -- parameter max_conns=100")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 6: server 10.0.0.3:13000 backup -- gatehouse has no backup")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 7: server 10.0.0.4:13000 down")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# line 8: zone app 64k")) << r.toml;
}

// least_conn is least_request; listen ssl with its certificate becomes [tls]; the WebSocket location's read timeout
// is websocket_idle while the API's is upstream_response; a second upstream nobody uses is noted.
TEST(NginxImport, TlsWebSocketAndLeastConn) {
    const auto r = import_config(
        "upstream nb { least_conn; server 10.0.0.1:13000; server 10.0.0.2:13000; }\n"
        "upstream unused { server 10.9.9.9:1; }\n"
        "server {\n listen 443 ssl http2;\n server_name example.com;\n"
        " ssl_certificate /etc/ssl/nb.pem;\n ssl_certificate_key /etc/ssl/nb.key;\n client_max_body_size 20M;\n"
        " location /api/ { proxy_pass http://nb; proxy_read_timeout 120s; }\n"
        " location /ws { proxy_pass http://nb; proxy_set_header Upgrade $http_upgrade;\n"
        "   proxy_set_header Connection upgrade; proxy_read_timeout 1h; }\n}\n",
        "tls.conf");
    ASSERT_FALSE(r.error);
    EXPECT_TRUE(contains(r.toml, "balance = \"least_request\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "[tls]\nlisten = [\"0.0.0.0:443\"]")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "cert = \"/etc/ssl/nb.pem\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "key = \"/etc/ssl/nb.key\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "max_request_body = \"20MiB\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "upstream_response = \"120s\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "websocket_idle = \"3600s\"")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "parameter http2 not translated")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "upstream unused -- no proxy_pass uses it")) << r.toml;
    EXPECT_FALSE(contains(r.toml, "10.9.9.9")) << r.toml;
}

// Whatever bytes the Nginx file holds, the result is valid TOML: quotes and backslashes escaped in strings, control
// characters, DEL and bytes that are not UTF-8 kept out of comments and escaped in strings; numbers written plainly.
TEST(NginxImport, OutputIsValidTomlWhateverTheInput) {
    const std::string nginx = "upstream u { server 10.0.0.1:1; keepalive 007; }\n"
                              "server { listen 80; ssl_certificate 'a\"b\\\\c\x7f\xff.pem';\n"
                              " weird_directive caf\xc3\xa9 \xff\xfe 'x\ty';\n"
                              " location / { proxy_pass http://u; } }\n";
    const auto r = import_config(nginx, "odd\xff.conf");
    ASSERT_FALSE(r.error) << r.error->message;
    try {
        const auto doc = toml::parse(r.toml, std::string_view("imported.toml"));
        EXPECT_EQ(doc["tls"]["cert"].value<std::string>(), "a\"b\\c\x7f\xc3\xbf.pem") << r.toml;
        EXPECT_EQ(doc["upstream"]["keepalive"].value<int64_t>(), 7) << r.toml;
    } catch (const toml::parse_error& e) {
        ADD_FAILURE() << e.description() << "\n" << r.toml;
    }
    EXPECT_TRUE(contains(r.toml, "# line 3: weird_directive caf?? ?? 'x y'")) << r.toml;
}

// Directives without arguments where Nginx wants some (found by fuzz_nginx_import: `location {` threw
// std::out_of_range) are comments like any other.
TEST(NginxImport, DirectivesWithoutArguments) {
    const auto r = import_config("server { listen 80; server_name; location { root /x; }\n"
                                 " location / { proxy_pass http://10.0.0.1:13000; } }\n",
                                 "bare.conf");
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_TRUE(contains(r.toml, "# line 1: location -- served by Nginx itself")) << r.toml;
    EXPECT_TRUE(contains(r.toml, "# server_name  (line 1)")) << r.toml;
}

// A syntax error or a file with nothing to proxy to is an error, not a configuration.
TEST(NginxImport, ErrorsInsteadOfAConfiguration) {
    const auto broken = import_config("server {\n listen 80\n}\n", "b.conf");
    ASSERT_TRUE(broken.error);
    EXPECT_EQ(broken.error->line, 3u);
    EXPECT_TRUE(broken.toml.empty());
    const auto empty = import_config("server { listen 80; root /srv; }\n", "e.conf");
    ASSERT_TRUE(empty.error);
    EXPECT_NE(empty.error->message.find("no node found"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::nginx
