// The client side of TLS to the nodes: context, names, the reason of a failed handshake.
#include <gatehouse/net/node_tls.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace gatehouse::node_tls {

peer_names names_for(const config::node_config& node, const config::node_tls_config& tls) {
    if (!tls.sni.empty()) return {tls.sni, false, tls.sni};
    if (node.host_is_ip) return {node.host, true, ""};
    return {node.host, false, node.host};
}

std::shared_ptr<ssl::context> make_context(const config::node_tls_config& tls) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // A tunnel reads through TLS while a write may be in flight: a read must never have to write (renegotiation).
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    try {
        if (!tls.ca_pem.empty()) ctx->add_certificate_authority(net::buffer(tls.ca_pem));
        else ctx->set_default_verify_paths();
        if (!tls.cert_pem.empty()) {
            ctx->use_certificate_chain(net::buffer(tls.cert_pem));
            ctx->use_private_key(net::buffer(tls.key_pem), ssl::context::pem);
        }
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("upstream.tls: " + std::string(e.what()));
    }
    ctx->set_verify_mode(tls.verify ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

bool prepare(SSL* ssl, const peer_names& names) {
    if (!names.sni.empty() && SSL_set_tlsext_host_name(ssl, names.sni.c_str()) != 1) return false;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (names.verify_ip) return X509_VERIFY_PARAM_set1_ip_asc(param, names.verify_name.c_str()) == 1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, names.verify_name.c_str()) == 1;
}

std::string failure_detail(SSL* ssl, const error_code& ec) {
    std::string out = ec.message();
    const long verdict = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verdict != X509_V_OK) out.append(": ").append(X509_verify_cert_error_string(verdict));
    return out;
}

}  // namespace gatehouse::node_tls
