// [tls] and proxy.redirect_https: defaults, paths relative to the file, [[tls.certificate]], the keys required.
#include "config_test_util.hpp"

using namespace gatehouse::config;
using gatehouse::config::test::node;
using gatehouse::config::test::only_problem;

TEST(TlsKeys, OffByDefaultWithMozillaIntermediateCiphers) {
    const auto c = parse_config(node);
    EXPECT_FALSE(c.tls.enabled());
    EXPECT_FALSE(c.proxy.redirect_https);
    EXPECT_EQ(c.tls.ciphers, intermediate_ciphers);
    EXPECT_EQ(c.tls.ciphersuites, default_ciphersuites);
    EXPECT_EQ(c.tls.hsts, "");
    EXPECT_TRUE(c.tls.direct_io);
    EXPECT_EQ(c.tls.default_certificate.ocsp_response, "");
}

TEST(TlsKeys, ReadsListenersCertificatesRelativeToTheFileAndOptions) {
    const auto c = parse_config(std::string(node) + R"([proxy]
redirect_https = true
[tls]
listen = ["127.0.0.1:8443"]
cert = "certs/full.pem"
key = "/abs/key.pem"
ciphers = "ECDHE-RSA-AES128-GCM-SHA256"
ciphersuites = "TLS_AES_128_GCM_SHA256"
hsts = "max-age=60"
direct_io = false
ocsp_response = "ocsp/full.der"
[[tls.certificate]]
cert = "b.pem"
key = "b.key"
ocsp_response = "/var/ocsp/b.der"
)", "/etc/gatehouse/gatehouse.toml");
    ASSERT_EQ(c.tls.listen.size(), 1u);
    EXPECT_EQ(c.tls.listen[0].port, 8443);
    EXPECT_EQ(c.tls.default_certificate.cert, "/etc/gatehouse/certs/full.pem");
    EXPECT_EQ(c.tls.default_certificate.key, "/abs/key.pem");
    ASSERT_EQ(c.tls.certificates.size(), 1u);
    EXPECT_EQ(c.tls.certificates[0].cert, "/etc/gatehouse/b.pem");
    EXPECT_EQ(c.tls.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    EXPECT_EQ(c.tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(c.tls.hsts, "max-age=60");
    EXPECT_FALSE(c.tls.direct_io);
    EXPECT_EQ(c.tls.default_certificate.ocsp_response, "/etc/gatehouse/ocsp/full.der");
    EXPECT_EQ(c.tls.certificates[0].ocsp_response, "/var/ocsp/b.der");
    EXPECT_TRUE(c.proxy.redirect_https);
}

TEST(TlsKeys, ListenersNeedTheDefaultCertificate) {
    const auto p = only_problem(std::string(node) + "[tls]\nlisten = [\"127.0.0.1:8443\"]\n");
    EXPECT_EQ(p.key, "tls.cert");
    const auto k = only_problem(std::string(node) + "[tls]\nlisten = [\"127.0.0.1:8443\"]\ncert = \"a.pem\"\nkey = \"\"\n");
    EXPECT_EQ(k.key, "tls.key");
}

TEST(TlsKeys, SniCertificatesNeedCertAndKey) {
    const auto p = only_problem(std::string(node) + "[[tls.certificate]]\ncert = \"a.pem\"\n");
    EXPECT_EQ(p.key, "tls.certificate[0].key");
}

TEST(TlsKeys, RedirectHttpsNeedsTlsListeners) {
    const auto p = only_problem(std::string(node) + "[proxy]\nredirect_https = true\n");
    EXPECT_EQ(p.key, "proxy.redirect_https");
}

TEST(TlsKeys, HstsIsOneLine) {
    EXPECT_EQ(only_problem(std::string(node) + "[tls]\nhsts = \"a\\r\\nX-Evil: 1\"\n").key, "tls.hsts");
}
