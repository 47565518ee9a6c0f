// The TLS side of gatehouse's listeners: one OpenSSL context per certificate, the one for an SNI name chosen during
// the handshake, built from [tls] at start and at each reload.
#pragma once

#include <gatehouse/config/config.hpp>

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::tls {

/// The certificates and settings of one configuration. Shared read-only by every worker (OpenSSL's contexts are
/// thread-safe once set up) and owned by each connection that handshakes with it, so a reload that builds a new
/// one lets connections of the old one go on.
class server_tls {
public:
    server_tls() = default;
    server_tls(const server_tls&) = delete;
    server_tls& operator=(const server_tls&) = delete;

    /// The context a connection starts with: the default certificate; the SNI callback switches to another.
    boost::asio::ssl::context& initial_context() const noexcept { return *default_; }

    /// The context whose certificate names `server_name` (exact names before wildcards), or nullptr.
    boost::asio::ssl::context* context_for(std::string_view server_name) const noexcept;

private:
    friend struct builder;
    struct named {
        std::vector<std::string> dns_names;
        std::unique_ptr<boost::asio::ssl::context> context;
    };
    std::unique_ptr<boost::asio::ssl::context> default_;
    std::vector<named> by_name_;
    std::vector<std::unique_ptr<std::vector<unsigned char>>> staples_;  ///< OCSP responses the contexts staple
};

/// What load_server_tls found: the contexts (nullptr when TLS is off or on problems), the problems that make the
/// configuration invalid (each names the key and the file) and the warnings (certificates expiring soon).
struct load_result {
    std::shared_ptr<const server_tls> tls;
    std::vector<std::string> problems;
    std::vector<std::string> warnings;
};

/// A certificate that expires within this many days is warned about (`gatehouse check`, start, reload).
inline constexpr long expiry_warning_days = 14;

/// Reads every certificate and key of `cfg` and builds the contexts: TLS 1.2 and 1.3 only, cfg.ciphers and
/// cfg.ciphersuites, ALPN http/1.1, session tickets (one key per process, so a ticket works on every worker and
/// after a reload) and a session cache, SSL_MODE_RELEASE_BUFFERS. A missing or unreadable file, a key that does
/// not match its certificate, an expired certificate, an SNI certificate without DNS names or a cipher list
/// OpenSSL rejects is a problem. `config_file` prefixes every message.
load_result load_server_tls(const config::tls_config& cfg, std::string_view config_file,
                            std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace gatehouse::tls
