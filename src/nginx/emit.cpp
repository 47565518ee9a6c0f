// import-nginx: the translation written as a gatehouse TOML configuration, each key with the Nginx line it came
// from, and every directive not translated as a comment.
#include "translation.hpp"

#include <sstream>

namespace gatehouse::nginx::detail {

namespace {

/// True when `s` is well-formed UTF-8 (TOML files must be).
bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        const auto next = n > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
        // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8 either.
        if (c == 0xC0 || c == 0xC1 || c > 0xF4 || (c == 0xE0 && next < 0xA0) || (c == 0xED && next >= 0xA0) ||
            (c == 0xF0 && next < 0x90) || (c == 0xF4 && next >= 0x90))
            return false;
        i += n;
    }
    return true;
}

std::string hex4(unsigned c) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return {'\\', 'u', '0', '0', digits[(c >> 4) & 15], digits[c & 15]};
}

/// A TOML basic string: control characters and DEL escaped; bytes of a string that is not UTF-8 as \u00HH.
std::string quoted(const std::string& s) {
    const bool utf8 = valid_utf8(s);
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') out += {'\\', ch};
        else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) out += hex4(c);
        else out += ch;
    }
    return out + "\"";
}

/// A comment's text on one line: control characters and DEL as spaces; a text that is not UTF-8 gets '?' for
/// its non-ASCII bytes (TOML comments must be UTF-8 without control characters).
std::string one_line(const std::string& s) {
    const bool utf8 = valid_utf8(s);
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        out += c < 0x20 || c == 0x7F ? ' ' : (c >= 0x80 && !utf8) ? '?' : ch;
    }
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
