// Building the 503 "unavailable / maintaining" answers.
#include <gatehouse/proxy/unavailable_response.hpp>

#include <gatehouse/proxy/error_response.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace gatehouse::proxy {
namespace {

std::string escape_html(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace

bool wants_nocobase_json(const http::request_header<>& request) noexcept {
    const std::string_view target = request.target();
    if (target.rfind("/api/", 0) == 0 || target == "/api") return true;
    const std::string_view accept = request[http::field::accept];
    return accept.find("application/json") != std::string_view::npos;
}

std::string unavailable_response(const http::request_header<>& request, const unavailable_answer& answer,
                                 std::string_view request_id, bool keep_alive) {
    std::string body, type;
    if (wants_nocobase_json(request)) {
        boost::json::object error{{"status", 503}, {"code", answer.code}, {"maintaining", true},
                                  {"message", answer.message}};
        if (!answer.command.empty()) error["command"] = boost::json::object{{"name", answer.command}};
        body = boost::json::serialize(boost::json::object{{"error", std::move(error)}});
        type = "application/json; charset=utf-8";
    } else if (!answer.html_page.empty()) {
        body = answer.html_page;
        type = "text/html; charset=utf-8";
    } else {
        body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Service unavailable</title></head>"
               "<body><h1>Service unavailable</h1><p>" + escape_html(answer.message) +
               "</p><p>Please try again in a moment.</p></body></html>\n";
        type = "text/html; charset=utf-8";
    }
    const std::string retry_after = "Retry-After: " + std::to_string(answer.retry_after_seconds) + "\r\n";
    return own_response(http::status::service_unavailable, type, body, request_id, keep_alive, retry_after,
                        request.method() != http::verb::head);
}

}  // namespace gatehouse::proxy
