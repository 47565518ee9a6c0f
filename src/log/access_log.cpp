// Access log lines: the combined and JSON formats.
#include <gatehouse/log/access_log.hpp>

#include <cstdio>
#include <ctime>

namespace gatehouse::log {
namespace {

/// `[26/Nov/2026:21:00:00 +0000]`, cached per second per thread.
std::string_view local_time(std::int64_t unix_ms) {
    thread_local std::int64_t cached_second = -1;
    thread_local char text[40];
    thread_local std::size_t length = 0;
    const std::int64_t second = unix_ms / 1000;
    if (second != cached_second) {
        const std::time_t t = static_cast<std::time_t>(second);
        std::tm tm{};
        gmtime_r(&t, &tm);
        length = std::strftime(text, sizeof text, "%d/%b/%Y:%H:%M:%S +0000", &tm);
        cached_second = second;
    }
    return {text, length};
}

/// `s` cut to `limit` bytes; `cut` tells whether anything was dropped.
std::string_view bounded(std::string_view s, std::size_t limit, bool& cut) noexcept {
    cut = s.size() > limit;
    return cut ? s.substr(0, limit) : s;
}

/// Nginx escapes `"` and `\` and bytes outside printable ASCII as \xHH in log variables; outside quotes
/// (`space_too`) a space is escaped as well, so a value can never start another field.
void append_escaped(std::string& out, std::string_view s, std::size_t limit = max_logged_field,
                    bool space_too = false) {
    static constexpr char hex[] = "0123456789ABCDEF";
    bool cut = false;
    for (unsigned char c : bounded(s, limit, cut)) {
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f || (space_too && c == ' ')) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (cut) out += "...";
}

/// A quoted field's contents, "-" when empty.
void append_or_dash(std::string& out, std::string_view s) {
    if (s.empty()) out += '-';
    else append_escaped(out, s);
}

/// An unquoted field (`key=value` or the leading address), "-" when empty.
void append_token(std::string& out, std::string_view s) {
    if (s.empty()) out += '-';
    else append_escaped(out, s, max_logged_field, true);
}

void append_seconds(std::string& out, double s) {
    char text[32];
    const int n = std::snprintf(text, sizeof text, "%.3f", s);
    out.append(text, static_cast<std::size_t>(n > 0 ? n : 0));
}

/// JSON string contents: quotes, backslashes and control characters escaped, bytes >= 0x7f as \\u00XX (so the line
/// stays ASCII and valid JSON whatever the client sent), cut to `limit` bytes.
void append_json_text(std::string& out, std::string_view s, std::size_t limit) {
    static constexpr char hex[] = "0123456789abcdef";
    bool cut = false;
    for (unsigned char c : bounded(s, limit, cut)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (cut) out += "...";
}

void append_json_string(std::string& out, std::string_view s, std::size_t limit = max_logged_field) {
    out += '"';
    append_json_text(out, s, limit);
    out += '"';
}

}  // namespace

void format_combined(std::string& out, const access_record& r) {
    append_token(out, r.client_ip);
    out += " - - [";
    out += local_time(r.unix_ms);
    out += "] \"";
    if (r.method.empty()) {
        out += '-';
    } else {
        append_escaped(out, r.method);
        out += ' ';
        append_escaped(out, r.target, max_logged_target);
        out += r.http_version >= 11 ? " HTTP/1.1" : " HTTP/1.0";
    }
    out += "\" ";
    out += std::to_string(r.status);
    out += ' ';
    out += std::to_string(r.body_bytes_sent);
    out += " \"";
    append_or_dash(out, r.referer);
    out += "\" \"";
    append_or_dash(out, r.user_agent);
    out += "\" node=";
    append_token(out, r.node);
    out += " upstream_status=";
    if (r.upstream_status) out += std::to_string(r.upstream_status);
    else out += '-';
    out += " upstream_time=";
    if (r.upstream_time >= 0) append_seconds(out, r.upstream_time);
    else out += '-';
    out += " request_time=";
    append_seconds(out, r.request_time);
    out += " request_id=";
    append_token(out, r.request_id);
    out += r.maintenance ? " maintenance=1" : " maintenance=0";
    out += r.bypass ? " bypass=1" : " bypass=0";
    out += " peer=";
    append_token(out, r.peer_ip);
    if (r.tunnel) {
        out += " ws_from_client=" + std::to_string(r.tunnel_from_client);
        out += " ws_closed_by=";
        append_token(out, r.tunnel_closed_by);
    }
    out += '\n';
}

void format_json(std::string& out, const access_record& r) {
    out += "{\"time\":\"";
    out += local_time(r.unix_ms);
    out += "\",\"remote_addr\":";
    append_json_string(out, r.client_ip);
    out += ",\"request\":";
    if (r.method.empty()) {
        out += "\"-\"";
    } else {
        out += '"';
        append_json_text(out, r.method, max_logged_field);
        out += ' ';
        append_json_text(out, r.target, max_logged_target);
        out += r.http_version >= 11 ? " HTTP/1.1\"" : " HTTP/1.0\"";
    }
    out += ",\"method\":";
    append_json_string(out, r.method);
    out += ",\"uri\":";
    append_json_string(out, r.target, max_logged_target);
    out += ",\"status\":" + std::to_string(r.status);
    out += ",\"body_bytes_sent\":" + std::to_string(r.body_bytes_sent);
    out += ",\"http_referer\":";
    append_json_string(out, r.referer);
    out += ",\"http_user_agent\":";
    append_json_string(out, r.user_agent);
    out += ",\"node\":";
    append_json_string(out, r.node);
    out += ",\"upstream_status\":";
    out += r.upstream_status ? std::to_string(r.upstream_status) : "null";
    out += ",\"upstream_time\":";
    if (r.upstream_time >= 0) append_seconds(out, r.upstream_time);
    else out += "null";
    out += ",\"request_time\":";
    append_seconds(out, r.request_time);
    out += ",\"request_id\":";
    append_json_string(out, r.request_id);
    out += r.maintenance ? ",\"maintenance\":true" : ",\"maintenance\":false";
    out += r.bypass ? ",\"bypass\":true" : ",\"bypass\":false";
    out += ",\"peer_addr\":";
    append_json_string(out, r.peer_ip);
    if (r.tunnel) {
        out += ",\"ws_from_client\":" + std::to_string(r.tunnel_from_client);
        out += ",\"ws_closed_by\":";
        append_json_string(out, r.tunnel_closed_by);
    }
    out += "}\n";
}

void keep_strings(access_record& r, std::string& storage) {
    std::string_view* const fields[] = {&r.client_ip, &r.peer_ip,    &r.method, &r.target,          &r.referer,
                                        &r.user_agent, &r.request_id, &r.node,   &r.tunnel_closed_by};
    std::size_t total = 0;
    for (const auto* f : fields) total += f->size();
    storage.clear();
    storage.reserve(total);  // no reallocation below: the views taken stay valid
    for (auto* f : fields) {
        const auto at = storage.size();
        storage.append(*f);
        *f = std::string_view(storage).substr(at, f->size());
    }
}

}  // namespace gatehouse::log
