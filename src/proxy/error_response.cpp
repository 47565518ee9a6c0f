// Building gatehouse's own short error answers.
#include <gatehouse/proxy/error_response.hpp>

namespace gatehouse::proxy {

std::string own_response(http::status status, std::string_view content_type, std::string_view body,
                         std::string_view request_id, bool keep_alive, std::string_view extra_fields, bool with_body) {
    std::string out;
    out.reserve(body.size() + extra_fields.size() + 200);
    out.append("HTTP/1.1 ").append(std::to_string(static_cast<unsigned>(status))).append(" ");
    out.append(http::obsolete_reason(status)).append("\r\n");
    out.append("Content-Type: ").append(content_type).append("\r\nCache-Control: no-store\r\n");
    if (!request_id.empty()) out.append("X-Request-Id: ").append(request_id).append("\r\n");
    out.append(extra_fields);
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    if (!keep_alive) out.append("Connection: close\r\n");
    out.append("\r\n");
    if (with_body) out.append(body);
    return out;
}

std::string error_response(http::status status, std::string_view detail, std::string_view request_id, bool keep_alive) {
    std::string body = std::to_string(static_cast<unsigned>(status));
    body.append(" ").append(http::obsolete_reason(status));
    const bool gatehouse_side = static_cast<unsigned>(status) >= 500;
    if (!detail.empty() && !gatehouse_side) body.append(": ").append(detail);
    body.append("\n");
    return own_response(status, "text/plain; charset=utf-8", body, request_id, keep_alive);
}

void add_field(std::string& response, std::string_view name, std::string_view value) {
    const auto line_end = response.find("\r\n");
    if (line_end == std::string::npos) return;
    std::string field;
    field.reserve(name.size() + value.size() + 4);
    field.append(name).append(": ").append(value).append("\r\n");
    response.insert(line_end + 2, field);
}

}  // namespace gatehouse::proxy
