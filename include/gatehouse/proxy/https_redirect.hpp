// proxy.redirect_https: where a request that came in plain HTTP is sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// "https://<host><target>" for a request with `host` (its Host header) and `target`: the Host's own port is
/// replaced by `tls_port`, written only when it is not 443 (an IPv6 literal keeps its brackets). nullopt when
/// `host` is empty or not a host name or address (the request gets 400).
std::optional<std::string> https_location(std::string_view host, std::string_view target, std::uint16_t tls_port);

}  // namespace gatehouse::proxy
