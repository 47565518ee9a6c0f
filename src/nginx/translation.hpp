// What import-nginx gathered from an Nginx configuration, before it is written out as TOML (internal).
#pragma once

#include <gatehouse/nginx/parse.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gatehouse::nginx::detail {

/// A gatehouse value and the Nginx directive it came from.
struct sourced {
    std::string value;   ///< already in gatehouse's spelling (TOML value text without quotes)
    unsigned line = 0;
    std::string from;    ///< the Nginx directive, as written
};

struct node_entry {
    std::string address;  ///< "host:port", or "https://host:port"
    unsigned weight = 1;
    sourced origin;
};

struct upstream_group {
    std::string name;
    std::vector<node_entry> nodes;
};

/// A directive not translated: written as a comment with its line and, when there is one, what gatehouse does.
struct note {
    unsigned line = 0;
    std::string text;
    std::string hint;
};

struct translation {
    std::vector<sourced> listen, tls_listen, server_names;
    std::optional<sourced> cert, key, max_body, gzip;
    std::optional<sourced> balance, keepalive, max_fails, fail_timeout;
    std::optional<sourced> upstream_connect, upstream_response, websocket_idle;
    std::vector<upstream_group> upstreams;
    std::set<std::string> upstream_names;       ///< every upstream block's name (first pass)
    std::vector<std::string> referenced;        ///< upstream names proxy_pass used, in order
    std::set<std::string> tls_referenced;       ///< those used as proxy_pass https://NAME
    std::vector<node_entry> direct_nodes;       ///< proxy_pass to an address
    std::vector<note> notes;
    bool websocket_location = false;            ///< a location proxying WebSocket upgrades was seen
};

/// Reads one `upstream` block (upstream_block.cpp).
void read_upstream(const directive& d, translation& t);
/// Walks the parsed file into a translation (import.cpp).
translation gather(const std::vector<directive>& top);
/// The nodes gatehouse gets: the upstream groups proxy_pass used (all of them when none was used) and the
/// proxy_pass addresses, without repeats; groups left out are noted.
std::vector<node_entry> chosen_nodes(translation& t);
/// The TOML text (emit.cpp).
std::string emit(translation& t, const std::vector<node_entry>& nodes, std::string_view origin);

}  // namespace gatehouse::nginx::detail
