// A TLS client for the integration tests (Asio + OpenSSL, blocking, bounded by socket timeouts): protocol limits,
// SNI, ALPN, session resumption, and what the server presented.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gatehouse::test {

struct tls_client_options {
    std::string server_name;  ///< SNI; "" sends none
    int min_version = 0;      ///< e.g. TLS1_2_VERSION; 0 = OpenSSL's default
    int max_version = 0;
    bool offer_http11 = true;  ///< ALPN "http/1.1"
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

class tls_client {
public:
    /// Connects to 127.0.0.1:port and handshakes (verification off: the tests look at the certificate
    /// themselves). `resume` (optional): a session saved by session() of an earlier client.
    tls_client(std::uint16_t port, tls_client_options options = {}, const std::shared_ptr<void>& resume = nullptr);
    ~tls_client();
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;

    /// False when the handshake failed; error() says why.
    bool ok() const noexcept { return error_.empty(); }
    const std::string& error() const noexcept { return error_; }

    std::string protocol() const;           ///< "TLSv1.2", "TLSv1.3"
    std::string alpn() const;               ///< the protocol the server selected, "" when none
    std::string peer_common_name() const;   ///< the CN of the server's certificate
    bool reused() const;                    ///< the session was resumed
    /// The session to resume with later (after the first response on TLS 1.3: its ticket comes after the handshake).
    std::shared_ptr<void> session() const;

    void send(std::string_view bytes);
    /// Reads one response framed by Content-Length (or until the server closes): head and body as received.
    std::string read_response();
    /// True when the server closes the connection within `timeout` (end of stream, a TLS close or a reset).
    bool closed_by_peer(std::chrono::milliseconds timeout);
    /// How the server ends the connection within `timeout`: "close_notify" (a TLS close, then end of stream),
    /// "truncated" (end of stream without close_notify), "error: ..." or "open" (nothing within the timeout).
    std::string how_closed(std::chrono::milliseconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string error_;
};

/// A request over a new TLS connection: the response's head and body as received ("" when the handshake failed).
std::string tls_get(std::uint16_t port, std::string_view target, tls_client_options options = {},
                    std::string_view host = "localhost");

}  // namespace gatehouse::test
