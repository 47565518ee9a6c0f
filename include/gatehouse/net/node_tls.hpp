// The client side of TLS to the nodes: the context built from [upstream.tls], and each connection's names.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

using SSL = struct ssl_st;

namespace gatehouse::node_tls {

namespace ssl = boost::asio::ssl;

/// What one connection to an https:// node checks and sends.
struct peer_names {
    std::string verify_name;  ///< the name (or IP address) the node's certificate must carry
    bool verify_ip = false;   ///< verify_name is an IP address (an IP SAN)
    std::string sni;          ///< sent as the server name; "" = none
};

/// The names for a node: upstream.tls.sni when set (sent and verified), else the node's host (sent only when it is
/// a name; an IP literal is verified against the certificate's IP SANs).
peer_names names_for(const config::node_config& node, const config::node_tls_config& tls);

/// The client context of every https:// node: TLS 1.2 and 1.3, the CA file (or the system store), peer
/// verification unless verify = false, the client certificate when set, OpenSSL's buffers released while idle.
/// Throws std::runtime_error (with OpenSSL's reason) when the PEM texts are refused (load checked them already).
std::shared_ptr<ssl::context> make_context(const config::node_tls_config& tls);

/// Sets SNI and the name to verify on a new connection's SSL object; false when OpenSSL refused them.
bool prepare(SSL* ssl, const peer_names& names);

/// Why a handshake failed, for the log: the error's message and, when the certificate was refused, OpenSSL's
/// verification reason (e.g. "certificate verify failed: hostname mismatch").
std::string failure_detail(SSL* ssl, const error_code& ec);

}  // namespace gatehouse::node_tls
