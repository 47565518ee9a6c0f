// A TLS front for integration tests: terminates TLS on 127.0.0.1 and relays the bytes to a plain test node behind
// it (test_upstream, websocket_node), so any test node becomes an https:// node. Records what TLS clients did.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::test {

struct tls_front_options {
    std::string cert_file;       ///< the server certificate chain (PEM)
    std::string key_file;        ///< its key (PEM)
    std::uint16_t target_port = 0;  ///< the plain node on 127.0.0.1 that gets the decrypted bytes
    std::string client_ca_file;  ///< require a client certificate signed by this CA (mutual TLS); "" = none
};

/// One thread running Asio: each accepted connection does the TLS handshake (TLS 1.2 or 1.3), then opens a
/// connection to the target and relays bytes both ways until either side ends, then closes both (without
/// close_notify: a node that just closes).
class tls_front {
public:
    explicit tls_front(tls_front_options options);
    ~tls_front();
    tls_front(const tls_front&) = delete;
    tls_front& operator=(const tls_front&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "https://127.0.0.1:<port>", for a gatehouse node address.
    std::string https_address() const { return "https://127.0.0.1:" + std::to_string(port_); }

    std::size_t handshakes() const noexcept { return handshakes_.load(); }  ///< completed TLS handshakes
    std::size_t failed_handshakes() const noexcept { return failed_.load(); }
    /// The server name (SNI) each completed handshake carried, oldest first ("" when none was sent).
    std::vector<std::string> server_names() const;

    /// Closes the listener and every connection and joins the thread. Idempotent.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> handshakes_{0}, failed_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> server_names_;
    std::thread thread_;
    friend struct impl;
};

}  // namespace gatehouse::test
