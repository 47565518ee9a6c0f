// Certificates made at test time with the `openssl` command, in a temporary directory removed afterwards.
#pragma once

#include <string>

namespace gatehouse::test {

/// A test CA and what it signed (EC P-256, valid for two days), plus a self-signed impostor:
///   ca.pem                    the CA certificate (what a client verifies against)
///   node.pem / node.key       signed by the CA for DNS:localhost and IP:127.0.0.1 (a server certificate)
///   other.pem / other.key     signed by the CA for DNS:other.test only (the right CA, the wrong name)
///   wrong.pem / wrong.key     self-signed for DNS:localhost and IP:127.0.0.1 (the right name, no trusted CA)
///   client.pem / client.key   signed by the CA, for client authentication (mutual TLS)
/// Throws std::runtime_error (with openssl's output) when a command fails.
class test_certificates {
public:
    test_certificates();
    ~test_certificates();
    test_certificates(const test_certificates&) = delete;
    test_certificates& operator=(const test_certificates&) = delete;

    const std::string& dir() const noexcept { return dir_; }
    /// The path of `name` in dir(), e.g. file("ca.pem").
    std::string file(const std::string& name) const { return dir_ + "/" + name; }

private:
    void run(const std::string& command) const;
    void sign(const std::string& name, const std::string& extensions) const;
    std::string dir_;
};

}  // namespace gatehouse::test
