// import-nginx: the translation written as a gatehouse TOML configuration, each key with the Nginx line it came
// from, and every directive not translated as a comment.
#include "translation.hpp"

#include <sstream>

namespace gatehouse::nginx::detail {

namespace {

/// A TOML basic string.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out + "\"";
}

/// A comment's text on one line (no control characters).
std::string one_line(const std::string& s) {
    std::string out;
    for (const char c : s) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    return out;
}

std::string from(const sourced& s) { return "  # line " + std::to_string(s.line) + ": " + one_line(s.from); }

void key(std::ostream& out, const char* name, const std::optional<sourced>& v, bool as_string = true) {
    if (v) out << name << " = " << (as_string ? quoted(v->value) : v->value) << from(*v) << "\n";
}

void address_list(std::ostream& out, const char* name, const std::vector<sourced>& list) {
    out << name << " = [";
    for (std::size_t i = 0; i < list.size(); ++i) out << (i ? ", " : "") << quoted(list[i].value);
    out << "]";
    for (const auto& l : list) out << "  # line " << l.line << ": " << one_line(l.from);
    out << "\n";
}

void proxy_and_upstream(std::ostream& out, const translation& t, const std::vector<node_entry>& nodes) {
    out << "[proxy]\n";
    if (!t.listen.empty()) address_list(out, "listen", t.listen);
    else out << "# No plain listen directive: gatehouse's default, 0.0.0.0:8080, applies\n";
    for (const auto& n : t.server_names)
        out << "# server_name " << one_line(n.value) << " (line " << n.line
            << "): gatehouse answers every Host name on its listeners\n";
    out << "\n[upstream]\n";
    key(out, "balance", t.balance);
    key(out, "keepalive", t.keepalive, false);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        out << "\n[[upstream.node]]\nname = \"node" << i + 1 << "\"\naddress = " << quoted(nodes[i].address)
            << from(nodes[i].origin) << "\n";
        if (nodes[i].weight != 1) out << "weight = " << nodes[i].weight << "\n";
    }
}

void limits_and_timeouts(std::ostream& out, const translation& t) {
    out << "\n[health_check]\n"
           "# NocoBase's health endpoint: 200 \"ok\" only while the node's application is running\n"
           "path = \"/api/__health_check\"\n";
    key(out, "max_fails", t.max_fails, false);
    key(out, "fail_timeout", t.fail_timeout);
    out << "\n[timeouts]\n";
    key(out, "upstream_connect", t.upstream_connect);
    key(out, "upstream_response", t.upstream_response);
    key(out, "websocket_idle", t.websocket_idle);
    if (t.websocket_location && !t.websocket_idle)
        out << "# The WebSocket location set no proxy_read_timeout: Nginx closed idle WebSockets after its default "
               "60 s.\n# gatehouse keeps websocket_idle at its default, 15m (NocoBase's client pings every 300 s).\n";
    out << "\n[limits]\n";
    key(out, "max_request_body", t.max_body);
    if (t.gzip) {
        out << "\n[compression]\n";
        key(out, "enabled", t.gzip, false);
    }
}

void tls_and_admin(std::ostream& out, const translation& t) {
    if (!t.tls_listen.empty() || t.cert || t.key) {
        out << "\n[tls]\n";
        if (!t.tls_listen.empty()) address_list(out, "listen", t.tls_listen);
        key(out, "cert", t.cert);
        key(out, "key", t.key);
    }
    out << "\n[admin]\n"
           "# The admin API and its token (gatehouse serve creates the file at its first start, mode 0600).\n"
           "listen = \"127.0.0.1:9901\"\n"
           "token_file = \"/var/lib/gatehouse/admin.token\"\n";
}

void notes(std::ostream& out, const translation& t) {
    if (t.notes.empty()) return;
    out << "\n# ---- Not translated (Nginx line: directive -- what gatehouse does instead) ----\n";
    for (const auto& n : t.notes) {
        out << "# " << (n.line ? "line " + std::to_string(n.line) : std::string("-")) << ": " << one_line(n.text);
        if (!n.hint.empty()) out << " -- " << one_line(n.hint);
        out << "\n";
    }
}

}  // namespace

std::string emit(translation& t, const std::vector<node_entry>& nodes, std::string_view origin) {
    std::ostringstream out;
    out << "# Translated from " << one_line(std::string(origin))
        << " by `gatehouse import-nginx`. Review it, then: gatehouse check -c FILE\n\n";
    proxy_and_upstream(out, t, nodes);
    limits_and_timeouts(out, t);
    tls_and_admin(out, t);
    notes(out, t);
    return out.str();
}

}  // namespace gatehouse::nginx::detail
