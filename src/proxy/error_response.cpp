// Building gatehouse's own short error answers.
#include <gatehouse/proxy/error_response.hpp>

namespace gatehouse::proxy {

std::string error_response(http::status status, std::string_view detail, std::string_view request_id, bool keep_alive) {
    const auto code = std::to_string(static_cast<unsigned>(status));
    const auto reason = http::obsolete_reason(status);
    std::string body;
    body.reserve(code.size() + reason.size() + detail.size() + 4);
    body.append(code).append(" ").append(reason);
    if (!detail.empty()) body.append(": ").append(detail);
    body.append("\n");

    std::string out;
    out.reserve(body.size() + 200);
    out.append("HTTP/1.1 ").append(code).append(" ").append(reason).append("\r\n");
    out.append("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
    if (!request_id.empty()) out.append("X-Request-Id: ").append(request_id).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    if (!keep_alive) out.append("Connection: close\r\n");
    out.append("\r\n").append(body);
    return out;
}

}  // namespace gatehouse::proxy
