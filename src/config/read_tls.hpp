// The [tls] section and proxy.redirect_https's dependence on it (private to src/config).
#pragma once

#include "toml_reader.hpp"

#include <string>

namespace gatehouse::config::detail {

/// [tls]: listen, cert/key (the default certificate), [[tls.certificate]], ciphers, ciphersuites, hsts. Paths are
/// resolved against the configuration file; the files themselves are read by tls::load_server_tls.
void read_tls(reader& r, const toml::table& root, const std::string& origin, tls_config& out);

/// proxy.redirect_https needs TLS listeners to send clients to.
void check_redirect_https(reader& r, const toml::table& root, const config& c);

}  // namespace gatehouse::config::detail
