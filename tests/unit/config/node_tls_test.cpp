// TLS to the nodes in the configuration: https:// addresses, [upstream.tls] (CA file, verify, sni, client key),
// the names each connection sends and verifies, and the warnings of `gatehouse check`.
#include "config_test_util.hpp"

#include <gatehouse/net/node_tls.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <stdlib.h>

using namespace gatehouse::config;
using gatehouse::config::test::only_problem;

namespace {

std::string node_at(const std::string& address) {
    return "[[upstream.node]]\nname = \"n\"\naddress = \"" + address + "\"\n";
}

/// A temporary directory with a CA certificate made by `openssl` (ca.pem, ca.key) and a text file (not.pem).
struct pem_files {
    std::string dir;
    pem_files() {
        std::string templ = "/tmp/gatehouse-unit-XXXXXX";
        dir = ::mkdtemp(templ.data());
        const std::string cmd = "cd '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                                "-nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=t >/dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
        std::ofstream(dir + "/not.pem") << "hello\n";
    }
    ~pem_files() { std::filesystem::remove_all(dir); }
    std::string file(const std::string& name) const { return dir + "/" + name; }
};

}  // namespace

// "https://" makes a TLS node; the address keeps host:port; "http://" and no scheme are plain.
TEST(NodeTlsConfig, HttpsAddressesAreTlsNodes) {
    const auto c = parse_config(node_at("https://127.0.0.1:13001") +
                                "[[upstream.node]]\nname = \"m\"\naddress = \"http://localhost:13002/\"\n" +
                                "[[upstream.node]]\nname = \"o\"\naddress = \"[::1]:13003\"\n");
    const auto& n = c.upstream.nodes;
    ASSERT_EQ(n.size(), 3u);
    EXPECT_TRUE(n[0].tls);
    EXPECT_EQ(n[0].address.text, "127.0.0.1:13001");
    EXPECT_EQ(n[0].address.port, 13001);
    EXPECT_EQ(n[0].host, "127.0.0.1");
    EXPECT_TRUE(n[0].host_is_ip);
    EXPECT_FALSE(n[1].tls);
    EXPECT_EQ(n[1].address.text, "localhost:13002");
    EXPECT_EQ(n[1].host, "localhost");
    EXPECT_FALSE(n[1].host_is_ip);
    EXPECT_FALSE(n[2].tls);
    EXPECT_EQ(n[2].host, "::1");
    EXPECT_TRUE(n[2].host_is_ip);
    EXPECT_TRUE(c.upstream.tls.verify) << "verification is on by default";
    EXPECT_TRUE(c.upstream.tls.ca_file.empty()) << "the system store by default";
}

// Another scheme, or a path after the port, is an error at the node's address.
TEST(NodeTlsConfig, BadSchemesAndPathsAreRefused) {
    for (const char* address : {"ftp://127.0.0.1:21", "https://127.0.0.1:443/api", "https://", "https://:443"}) {
        const auto p = only_problem(node_at(address));
        EXPECT_EQ(p.key, "upstream.node[0].address") << address;
        EXPECT_EQ(p.line, 3u) << address;
    }
}

// The CA file is read at load: a missing file or one without a certificate is an error naming the key and file.
TEST(NodeTlsConfig, CaFileIsReadAndChecked) {
    pem_files files;
    const auto ok = parse_config(node_at("https://127.0.0.1:1") + "[upstream.tls]\nca_file = \"" + files.file("ca.pem") + "\"\n");
    EXPECT_EQ(ok.upstream.tls.ca_file, files.file("ca.pem"));
    EXPECT_NE(ok.upstream.tls.ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);

    auto p = only_problem(node_at("https://127.0.0.1:1") + "[upstream.tls]\nca_file = \"" + files.file("missing.pem") + "\"\n");
    EXPECT_EQ(p.key, "upstream.tls.ca_file");
    EXPECT_NE(p.message.find(files.file("missing.pem")), std::string::npos) << p.message;
    p = only_problem(node_at("https://127.0.0.1:1") + "[upstream.tls]\nca_file = \"" + files.file("not.pem") + "\"\n");
    EXPECT_EQ(p.key, "upstream.tls.ca_file");
    EXPECT_NE(p.message.find("holds no PEM certificate"), std::string::npos) << p.message;
}

// sni must be a DNS name; verify must be a boolean; unknown keys are refused; cert and key go together.
TEST(NodeTlsConfig, TlsKeysAreChecked) {
    pem_files files;
    const auto base = node_at("https://127.0.0.1:1") + "[upstream.tls]\n";
    EXPECT_EQ(only_problem(base + "sni = \"10.0.0.1\"\n").key, "upstream.tls.sni");
    EXPECT_EQ(only_problem(base + "sni = \"bad name\"\n").key, "upstream.tls.sni");
    EXPECT_EQ(only_problem(base + "verify = \"no\"\n").key, "upstream.tls.verify");
    EXPECT_EQ(only_problem(base + "ciphers = \"x\"\n").key, "upstream.tls.ciphers");
    EXPECT_EQ(only_problem(base + "cert = \"" + files.file("ca.pem") + "\"\n").key, "upstream.tls.key");
    EXPECT_EQ(only_problem(base + "cert = \"" + files.file("ca.pem") + "\"\nkey = \"" + files.file("not.pem") + "\"\n").key,
              "upstream.tls.key");
    const auto c = parse_config(base + "sni = \"nodes.internal\"\nverify = false\ncert = \"" + files.file("ca.pem") +
                                "\"\nkey = \"" + files.file("ca.key") + "\"\n");
    EXPECT_EQ(c.upstream.tls.sni, "nodes.internal");
    EXPECT_FALSE(c.upstream.tls.verify);
    EXPECT_FALSE(c.upstream.tls.key_pem.empty());
}

// `gatehouse check` warns when https:// nodes are not verified, and when [upstream.tls] serves no node.
TEST(NodeTlsConfig, Warnings) {
    const auto has = [](const config& c, std::string_view text) {
        for (const auto& w : config_warnings(c))
            if (w.find(text) != std::string::npos) return true;
        return false;
    };
    EXPECT_TRUE(has(parse_config(node_at("https://127.0.0.1:1") + "[upstream.tls]\nverify = false\n"),
                    "upstream.tls.verify = false"));
    EXPECT_FALSE(has(parse_config(node_at("https://127.0.0.1:1")), "upstream.tls"));
    EXPECT_TRUE(has(parse_config(node_at("127.0.0.1:1") + "[upstream.tls]\nsni = \"a.b\"\n"), "no node address is https://"));
}

// What a connection sends and verifies: sni when set; else the host name, or no SNI and the IP address's SAN.
TEST(NodeTlsConfig, PeerNames) {
    node_config by_name{.host = "node1.internal", .host_is_ip = false};
    node_config by_ip{.host = "10.0.0.5", .host_is_ip = true};
    node_tls_config plain_tls;
    auto n = gatehouse::node_tls::names_for(by_name, plain_tls);
    EXPECT_EQ(n.sni, "node1.internal");
    EXPECT_EQ(n.verify_name, "node1.internal");
    EXPECT_FALSE(n.verify_ip);
    n = gatehouse::node_tls::names_for(by_ip, plain_tls);
    EXPECT_EQ(n.sni, "");
    EXPECT_EQ(n.verify_name, "10.0.0.5");
    EXPECT_TRUE(n.verify_ip);
    node_tls_config with_sni;
    with_sni.sni = "cluster.example";
    n = gatehouse::node_tls::names_for(by_ip, with_sni);
    EXPECT_EQ(n.sni, "cluster.example");
    EXPECT_EQ(n.verify_name, "cluster.example");
    EXPECT_FALSE(n.verify_ip);
}
