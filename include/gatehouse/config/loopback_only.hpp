// `gatehouse demo` listens on loopback unless told otherwise: the configuration's listeners moved to loopback.
#pragma once

#include <gatehouse/config/config.hpp>

#include <string>
#include <vector>

namespace gatehouse::config {

/// Replaces every listener address of `c` that is not loopback (proxy.listen, admin.listen, metrics.listen) by
/// the loopback address of its family (127.0.0.1 or ::1), same port. Returns one "from -> to" line per change.
std::vector<std::string> move_listeners_to_loopback(config& c);

}  // namespace gatehouse::config
