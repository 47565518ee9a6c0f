// The 503 answer when no node can serve: NocoBase's own maintenance JSON for the API, an HTML page for browsers.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/beast/http/message.hpp>

#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// True for requests the NocoBase client makes through its API client (target under /api/, or asking for JSON):
/// they get the JSON shape that makes the single-page app show its own "maintaining" screen.
bool wants_nocobase_json(const http::request_header<>& request) noexcept;

struct unavailable_answer {
    std::string_view code = "APP_UNAVAILABLE";  ///< NocoBase error code, e.g. APP_COMMANDING
    std::string_view command;                   ///< command name for APP_COMMANDING, e.g. "upgrade"; "" = none
    std::string_view message;                   ///< human text, shown by the app and the page
    std::string_view html_page;                 ///< full page for browsers; "" = a short built-in page
    unsigned retry_after_seconds = 10;
};

/// A complete 503 response with Retry-After and Cache-Control: no-store; JSON
/// `{"error":{"status":503,"code":...,"maintaining":true,"message":...,"command":{"name":...}}}` or HTML.
std::string unavailable_response(const http::request_header<>& request, const unavailable_answer& answer,
                                 std::string_view request_id, bool keep_alive);

}  // namespace gatehouse::proxy
