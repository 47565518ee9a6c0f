// Reading TLS to the nodes: "https://" node addresses and the [upstream.tls] section (private to src/config).
#pragma once

#include "toml_reader.hpp"

#include <string>
#include <string_view>

namespace gatehouse::config::detail {

/// Splits an optional "http://" or "https://" off `text` (true in `tls` for https); the rest is "host:port".
/// Returns an error message for another scheme, a path after the port, or "".
std::string split_scheme(std::string_view& text, bool& tls);

/// The host of a "host:port" text as written, without the brackets of an IPv6 literal.
std::string_view address_host(std::string_view host_port) noexcept;

/// A node's `address`: optional scheme, then host:port resolved as usual; fills node.address, tls, host.
void read_node_address(reader& r, const toml::table& t, const std::string& path, node_config& node);

/// [upstream.tls] (a sub-table of [upstream]): reads and checks the CA, client certificate and key files.
void read_node_tls(reader& r, const toml::table& upstream, const std::string& origin, node_tls_config& out);

/// What the PEM text holds, checked with OpenSSL; "" when fine, else why not.
std::string check_certificates_pem(const std::string& pem);
std::string check_private_key_pem(const std::string& key_pem, const std::string& cert_pem);

}  // namespace gatehouse::config::detail
