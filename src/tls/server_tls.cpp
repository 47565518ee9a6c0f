// Building the OpenSSL server contexts from [tls]: certificates checked, protocol limits, ALPN, tickets, SNI.
#include <gatehouse/tls/server_tls.hpp>

#include <gatehouse/tls/certificate.hpp>
#include <gatehouse/tls/ocsp_staple.hpp>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <mutex>

namespace gatehouse::tls {

namespace ssl = boost::asio::ssl;

namespace {

/// OpenSSL's last error as text (and the queue emptied).
std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    return text;
}

/// The session-ticket keys of this process: made once, set on every context (all workers, every reload).
const std::array<unsigned char, 80>& ticket_keys() {
    static std::array<unsigned char, 80> keys{};
    static std::once_flag made;
    std::call_once(made, [] { RAND_bytes(keys.data(), static_cast<int>(keys.size())); });
    return keys;
}

int select_http11(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned in_len,
                  void*) {
    static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_len, ours, sizeof ours, in, in_len) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;  // the client offers only other protocols (h2): go on without ALPN
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

int choose_by_name(SSL* s, int*, void* arg) {
    const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
    if (auto* ctx = static_cast<const server_tls*>(arg)->context_for(name)) SSL_set_SSL_CTX(s, ctx->native_handle());
    return SSL_TLSEXT_ERR_OK;  // an unknown name gets the default certificate
}

}  // namespace

/// Fills a server_tls; collects problems and warnings with the configuration file and key named.
struct builder {
    const config::tls_config& cfg;
    std::string_view file;
    std::chrono::system_clock::time_point now;
    load_result& out;
    server_tls* target = nullptr;  ///< being built (holds the stapled OCSP responses)

    void problem(std::string_view key, const std::string& path, const std::string& what) {
        out.problems.push_back(std::string(file) + ": " + std::string(key) + ": " + path + ": " + what);
    }

    /// A context with gatehouse's settings and no certificate yet; nullptr after a problem (the cipher lists).
    std::unique_ptr<ssl::context> base_context() {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
        SSL_CTX* c = ctx->native_handle();
        SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
        SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_dh_auto(c, 1);
        SSL_CTX_set_alpn_select_cb(c, select_http11, nullptr);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
        static constexpr unsigned char session_context[] = "gatehouse";
        SSL_CTX_set_session_id_context(c, session_context, sizeof session_context - 1);
        auto keys = ticket_keys();
        SSL_CTX_set_tlsext_ticket_keys(c, keys.data(), static_cast<long>(keys.size()));
        if (SSL_CTX_set_cipher_list(c, cfg.ciphers.c_str()) != 1) {
            out.problems.push_back(std::string(file) + ": tls.ciphers: " + openssl_error());
            return nullptr;
        }
        if (SSL_CTX_set_ciphersuites(c, cfg.ciphersuites.c_str()) != 1) {
            out.problems.push_back(std::string(file) + ": tls.ciphersuites: " + openssl_error());
            return nullptr;
        }
        return ctx;
    }

    /// The certificate's facts, checked (readable, not expired; warned when it expires soon).
    std::optional<certificate_facts> check_certificate(std::string_view key, const std::string& path) {
        std::string error;
        auto facts = read_certificate(path, error);
        if (!facts) {
            problem(key, path, error);
            return std::nullopt;
        }
        const long days = days_left(facts->not_after, now);
        if (facts->not_after <= now) {
            problem(key, path, "the certificate has expired");
            return std::nullopt;
        }
        if (days < expiry_warning_days)
            out.warnings.push_back(std::string(file) + ": " + std::string(key) + ": " + path +
                                   ": the certificate expires in " + std::to_string(days) + " day(s)");
        return facts;
    }

    /// A context serving `pair` (key is "tls" or "tls.certificate[i]"); nullptr after a problem.
    std::unique_ptr<ssl::context> context_for(const config::tls_certificate& pair, const std::string& key,
                                              std::vector<std::string>* names) {
        const auto facts = check_certificate(key + ".cert", pair.cert);
        auto ctx = base_context();
        if (!facts || !ctx) return nullptr;
        SSL_CTX* c = ctx->native_handle();
        ERR_clear_error();
        if (SSL_CTX_use_certificate_chain_file(c, pair.cert.c_str()) != 1) {
            problem(key + ".cert", pair.cert, openssl_error());
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(c, pair.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            const int reason = ERR_GET_REASON(ERR_peek_last_error());
            const bool mismatch = reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH;
            problem(key + ".key", pair.key,
                    mismatch ? "does not match the certificate " + pair.cert : "cannot use the private key: " + openssl_error());
            ERR_clear_error();
            return nullptr;
        }
        if (SSL_CTX_check_private_key(c) != 1) {
            problem(key + ".key", pair.key, "does not match the certificate " + pair.cert);
            return nullptr;
        }
        if (!pair.ocsp_response.empty() && !staple(c, pair.ocsp_response, key + ".ocsp_response")) return nullptr;
        if (names) *names = facts->dns_names;
        return ctx;
    }

    /// Reads the OCSP response for the context's certificate and staples it; false after a problem.
    bool staple(SSL_CTX* c, const std::string& path, const std::string& key) {
        auto read = read_ocsp_response(path, SSL_CTX_get0_certificate(c), now);
        if (!read.problem.empty()) {
            problem(key, path, read.problem);
            return false;
        }
        if (!read.warning.empty()) out.warnings.push_back(std::string(file) + ": " + key + ": " + path + ": " + read.warning);
        if (read.der.empty()) return true;
        target->staples_.push_back(std::make_unique<std::vector<unsigned char>>(std::move(read.der)));
        staple_ocsp(c, target->staples_.back().get());
        return true;
    }

    void build(server_tls& tls) {
        target = &tls;
        tls.default_ = context_for(cfg.default_certificate, "tls", nullptr);
        for (std::size_t i = 0; i < cfg.certificates.size(); ++i) {
            const auto& pair = cfg.certificates[i];
            const std::string key = "tls.certificate[" + std::to_string(i) + "]";
            server_tls::named entry;
            entry.context = context_for(pair, key, &entry.dns_names);
            if (entry.context && entry.dns_names.empty())
                problem(key + ".cert", pair.cert, "has no subjectAltName DNS name to be chosen by");
            if (entry.context) tls.by_name_.push_back(std::move(entry));
        }
        if (tls.default_) {
            SSL_CTX_set_tlsext_servername_callback(tls.default_->native_handle(), choose_by_name);
            SSL_CTX_set_tlsext_servername_arg(tls.default_->native_handle(), &tls);
        }
    }
};

ssl::context* server_tls::context_for(std::string_view server_name) const noexcept {
    for (const bool wildcard : {false, true})
        for (const auto& n : by_name_)
            for (const auto& pattern : n.dns_names)
                if ((pattern.rfind("*.", 0) == 0) == wildcard && name_matches(pattern, server_name))
                    return n.context.get();
    return nullptr;
}

load_result load_server_tls(const config::tls_config& cfg, std::string_view config_file,
                            std::chrono::system_clock::time_point now) {
    load_result out;
    if (!cfg.enabled()) return out;
    auto tls = std::make_shared<server_tls>();  // built in place: the SNI callback keeps its address
    builder{cfg, config_file, now, out}.build(*tls);
    if (out.problems.empty()) out.tls = std::move(tls);
    return out;
}

}  // namespace gatehouse::tls
