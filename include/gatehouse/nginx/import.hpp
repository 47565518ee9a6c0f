// `gatehouse import-nginx`: an Nginx configuration translated to a gatehouse TOML configuration. Pure.
#pragma once

#include <gatehouse/nginx/parse.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::nginx {

/// Nginx units in gatehouse's spelling: "20M" -> "20MiB", "0" -> "0"; "600" -> "600s", "1m30s" -> "90s",
/// "500ms" -> "500ms". nullopt when the value is not a plain Nginx size or time (a variable, a typo).
std::optional<std::string> size_of(std::string_view nginx_size);
std::optional<std::string> duration_of(std::string_view nginx_time);

struct import_result {
    std::string toml;                  ///< the configuration; empty when error is set
    std::optional<parse_error> error;  ///< a syntax error, or nothing to proxy to (no node found)
};

/// Translates `upstream` blocks (server with weight, max_fails, fail_timeout, backup, down; ip_hash, least_conn,
/// keepalive), `listen`, `server_name`, `ssl_certificate(_key)`, `client_max_body_size`, `proxy_*_timeout`, `gzip`
/// and the WebSocket location (proxy_read_timeout there becomes timeouts.websocket_idle). `proxy_pass` to an
/// address (no upstream block) makes that address a node. Every other directive is written as a comment with its
/// line, some with a hint (what gatehouse does instead). `origin` names the file in the header comment.
import_result import_config(std::string_view nginx_text, std::string_view origin);

}  // namespace gatehouse::nginx
