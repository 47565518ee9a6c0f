// Socket addresses as gatehouse uses them: written for logs, v4-mapped forms unmapped, listen addresses probed.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/net.hpp>

#include <string>
#include <vector>

namespace gatehouse {

/// "1.2.3.4:80" or "[::1]:80".
std::string describe(const tcp::endpoint& endpoint);

/// `address` with an IPv4-mapped IPv6 form (::ffff:1.2.3.4) turned back into IPv4; any other address as it is.
net::ip::address unmap_v4(net::ip::address address);

/// The listen addresses of a configuration as endpoints.
std::vector<tcp::endpoint> listen_endpoints(const config::config& cfg);

/// The addresses of tls.listen, in order (none when TLS is off).
std::vector<tcp::endpoint> tls_listen_endpoints(const config::config& cfg);

/// Throws std::system_error ("cannot listen on ADDR: Address already in use") when another socket is bound to
/// `endpoint`. Workers share each port through SO_REUSEPORT, which would also let a second gatehouse (or anything
/// else with SO_REUSEPORT) silently share it: this probe, bound without SO_REUSEPORT, refuses that.
void ensure_address_free(const tcp::endpoint& endpoint);

}  // namespace gatehouse
