// import-nginx: walks the Nginx directives (main, http, server, location) into a translation; import_config.
#include "translation.hpp"

#include <gatehouse/nginx/import.hpp>

#include <algorithm>
#include <map>

namespace gatehouse::nginx::detail {

void set_once(std::optional<sourced>& slot, sourced value, translation& t) {
    if (!slot) {
        slot = std::move(value);
    } else if (slot->value != value.value) {
        t.notes.push_back({value.line, value.from,
                           "gatehouse has one value for the whole proxy: line " + std::to_string(slot->line) +
                               "'s is kept"});
    }
}

std::string with_default_port(const std::string& host_port, const std::string& port) {
    const auto bracket = host_port.rfind(']');
    const auto colon = host_port.rfind(':');
    const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket) &&
                          (bracket != std::string::npos || host_port.find(':') == colon);
    return has_port ? host_port : host_port + ":" + port;
}

namespace {

enum class scope { main, http, server, location };

void walk(const std::vector<directive>& ds, scope where, translation& t, bool websocket_path = false);

/// What gatehouse does instead of a directive it does not translate ("" = nothing to say).
std::string hint_for(const directive& d) {
    static const std::map<std::string, std::string, std::less<>> hints{
        {"proxy_http_version", "gatehouse talks HTTP/1.1 to the nodes"},
        {"proxy_cache_bypass", "gatehouse caches nothing"},
        {"proxy_send_timeout", "no separate setting: timeouts.upstream_response bounds the exchange"},
        {"send_timeout", "timeouts.client_idle bounds a client that stops reading"},
        {"keepalive_timeout", "timeouts.client_idle"},
        {"map", "gatehouse writes X-Forwarded-Proto and keeps Host itself"},
        {"access_log", "log.access (a file is reopened on SIGUSR1)"},
        {"log_format", "log.access_format: combined or json"},
        {"gzip_types", "compression.types (gatehouse's default list covers these)"},
        {"return", "gatehouse has no return rules (proxy.redirect_https is its 301 from http to https)"},
        {"ssl_protocols", "gatehouse serves TLS 1.2 and 1.3 (tls.ciphers, tls.ciphersuites)"},
        {"add_header", "gatehouse adds no headers of its own: the nodes' pass unchanged"},
        {"rewrite", "gatehouse passes the path unchanged"},
        {"include", "not followed: run import-nginx on the included file too"},
    };
    if (d.name == "proxy_set_header" && !d.args.empty()) {
        std::string h = d.args[0];
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
        if (h == "host" || h == "x-forwarded-for" || h == "x-forwarded-proto" || h == "x-real-ip")
            return "gatehouse sets it itself (README, How requests are proxied)";
        if (h == "upgrade" || h == "connection") return "gatehouse passes WebSocket upgrades on every path";
        std::string same = "$http_" + h;
        std::replace(same.begin(), same.end(), '-', '_');
        if (d.args.size() == 2 && d.args[1] == same) return "gatehouse passes the client's header unchanged";
    }
    const auto it = hints.find(d.name);
    return it == hints.end() ? std::string() : it->second;
}

void note(const directive& d, translation& t) { t.notes.push_back({d.line, d.text(), hint_for(d)}); }

/// `listen`: plain or TLS addresses; parameters other than ssl, default_server are noted.
void read_listen(const directive& d, translation& t) {
    if (d.args.empty() || d.args[0].starts_with("unix:")) return note(d, t);
    std::string address = d.args[0];
    if (address.starts_with("*:")) address = "0.0.0.0:" + address.substr(2);
    if (address.find_first_not_of("0123456789") == std::string::npos) address = "0.0.0.0:" + address;
    address = with_default_port(address, "80");
    bool tls = false;
    for (std::size_t i = 1; i < d.args.size(); ++i) {
        if (d.args[i] == "ssl") tls = true;
        else if (d.args[i] != "default_server")
            t.notes.push_back({d.line, d.text(), "parameter " + d.args[i] + " not translated"});
    }
    (tls ? t.tls_listen : t.listen).push_back({address, d.line, d.text()});
}

/// `proxy_pass`: an upstream group by name, or an address that becomes a node.
void read_proxy_pass(const directive& d, const std::string& location_path, translation& t) {
    if (d.args.size() != 1 || d.args[0].find('$') != std::string::npos) return note(d, t);
    std::string url = d.args[0];
    const bool tls = url.starts_with("https://");
    if (!tls && !url.starts_with("http://")) return note(d, t);
    url.erase(0, tls ? 8 : 7);
    const auto slash = url.find('/');
    const std::string host = url.substr(0, slash), path = slash == std::string::npos ? "" : url.substr(slash);
    if (!path.empty() && path != location_path)
        t.notes.push_back({d.line, d.text(), "gatehouse passes the path unchanged (no rewriting to " + path + ")"});
    if (t.upstream_names.contains(host)) {
        if (std::find(t.referenced.begin(), t.referenced.end(), host) == t.referenced.end())
            t.referenced.push_back(host);
        if (tls) t.tls_referenced.insert(host);
        return;
    }
    const auto address = with_default_port(host, tls ? "443" : "80");
    t.direct_nodes.push_back({(tls ? "https://" : "") + address, 1, {"", d.line, d.text()}});
}

/// The directive's arguments as written (its text() without the name).
std::string arguments_of(const directive& d) {
    const auto text = d.text();
    return text.size() > d.name.size() ? text.substr(d.name.size() + 1) : std::string();
}

/// The location's path without its modifier (`^~ /api/` -> "/api/").
std::string location_path(const directive& d) { return d.args.empty() ? "" : d.args.back(); }

bool sets_upgrade(const directive& d) {
    return std::any_of(d.block.begin(), d.block.end(), [](const directive& c) {
        return c.name == "proxy_set_header" && !c.args.empty() &&
               (c.args[0] == "Upgrade" || c.args[0] == "upgrade");
    });
}

void read_location(const directive& d, translation& t) {
    const auto path = location_path(d);
    const bool proxied =
        std::any_of(d.block.begin(), d.block.end(), [](const directive& c) { return c.name == "proxy_pass"; });
    const bool ws = proxied && sets_upgrade(d) && (path.ends_with("ws") || path.ends_with("ws/"));
    if (ws) t.websocket_location = true;
    if (!proxied)
        t.notes.push_back({d.line, d.text(),
                           "served by Nginx itself; gatehouse sends this path to the nodes (a NocoBase node serves "
                           "its files itself)"});
    for (const auto& c : d.block) {
        if (c.name == "proxy_pass") read_proxy_pass(c, path, t);
        else if (c.name == "location") read_location(c, t);
        else walk({c}, scope::location, t, ws);
    }
}

/// Directives that become a gatehouse key wherever they appear; false when `d` is not one of them.
bool read_setting(const directive& d, translation& t, bool websocket_path) {
    const std::string arg = d.args.size() == 1 ? d.args[0] : "";
    auto as = [&](std::optional<std::string> v, std::optional<sourced>& slot) {
        if (!v) return false;
        set_once(slot, {*v, d.line, d.text()}, t);
        return true;
    };
    if (d.name == "client_max_body_size") return as(size_of(arg), t.max_body);
    if (d.name == "proxy_connect_timeout") return as(duration_of(arg), t.upstream_connect);
    if (d.name == "proxy_read_timeout")
        return as(duration_of(arg), websocket_path ? t.websocket_idle : t.upstream_response);
    if (d.name == "ssl_certificate") return as(arg.empty() ? std::nullopt : std::optional(arg), t.cert);
    if (d.name == "ssl_certificate_key") return as(arg.empty() ? std::nullopt : std::optional(arg), t.key);
    if (d.name == "gzip" && (arg == "on" || arg == "off")) return as(arg == "on" ? "true" : "false", t.gzip);
    if (d.name == "server_name") {
        t.server_names.push_back({arguments_of(d), d.line, d.text()});
        return true;
    }
    return false;
}

void walk(const std::vector<directive>& ds, scope where, translation& t, bool websocket_path) {
    for (const auto& d : ds) {
        if (d.name == "http" && where == scope::main) walk(d.block, scope::http, t);
        else if (d.name == "upstream" && where != scope::location) read_upstream(d, t);
        else if (d.name == "server" && d.has_block && where != scope::location) walk(d.block, scope::server, t);
        else if (d.name == "listen" && where == scope::server) read_listen(d, t);
        else if (d.name == "location" && where != scope::main) read_location(d, t);
        else if (!read_setting(d, t, websocket_path)) note(d, t);
    }
}

void collect_upstream_names(const std::vector<directive>& ds, translation& t) {
    for (const auto& d : ds) {
        if (d.name == "upstream" && !d.args.empty()) t.upstream_names.insert(d.args[0]);
        if (d.name == "http") collect_upstream_names(d.block, t);
    }
}

}  // namespace

translation gather(const std::vector<directive>& top) {
    translation t;
    collect_upstream_names(top, t);
    walk(top, scope::main, t);
    return t;
}

}  // namespace gatehouse::nginx::detail

namespace gatehouse::nginx {

import_result import_config(std::string_view nginx_text, std::string_view origin) {
    auto parsed = parse(nginx_text);
    if (parsed.error) return {{}, parsed.error};
    auto t = detail::gather(parsed.directives);
    const auto nodes = detail::chosen_nodes(t);
    if (nodes.empty())
        return {{}, parse_error{0, "no node found: no upstream server and no proxy_pass to an address"}};
    return {detail::emit(t, nodes, origin), std::nullopt};
}

}  // namespace gatehouse::nginx
