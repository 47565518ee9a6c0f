// Where the operator commands send an admin call, and whether the admin token may go with it.
#pragma once

#include <gatehouse/config/config.hpp>

#include <string>

namespace gatehouse::admin {

struct admin_target {
    std::string address;      ///< "host:port" to connect to ("" when refused)
    bool send_token = false;  ///< whether the token goes in Authorization
    std::string refusal;      ///< non-empty: do not call at all, say this instead
};

/// The token goes only to a loopback address or to the one the operator typed (`--admin`): a configuration file
/// whose admin.listen names another host must not make the CLI hand the token to that host.
/// `explicit_address` is --admin ("" = none); `listen` is admin.listen of the configuration (used when no --admin;
/// a wildcard address such as 0.0.0.0 or [::] is reached through loopback); `have_token` whether there is a token.
admin_target choose_admin_target(const std::string& explicit_address, const config::socket_address& listen,
                                 bool have_token);

/// The configuration file every command reads without -c: `installed` when it exists (an installed gatehouse, so
/// `sudo gatehouse nodes` finds the running one's admin API and token), else `conf/gatehouse.toml`.
std::string default_config_path(const std::string& installed = "/etc/gatehouse/gatehouse.toml");

}  // namespace gatehouse::admin
