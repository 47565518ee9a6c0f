// The 503 answer when no node can serve: who gets NocoBase's JSON, the exact JSON and HTML answers, HEAD and
// keep-alive, and that NocoBase's own recogniser reads gatehouse's JSON as "maintaining".
#include <gatehouse/proxy/unavailable_response.hpp>

#include <gatehouse/health/http_probe.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

http::request_header<> request(http::verb method, std::string_view target, std::string_view accept = {}) {
    http::request_header<> h;
    h.method(method);
    h.target(target);
    h.version(11);
    h.set(http::field::host, "app.example");
    if (!accept.empty()) h.set(http::field::accept, accept);
    return h;
}

http::request_header<> get(std::string_view target, std::string_view accept = {}) {
    return request(http::verb::get, target, accept);
}

std::string head_of(const std::string& response) { return response.substr(0, response.find("\r\n\r\n") + 4); }
std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

}  // namespace

// The API client's requests (under /api/, or asking for JSON) get JSON; a browser's page request does not.
TEST(UnavailableResponse, WhoGetsNocoBaseJson) {
    EXPECT_TRUE(proxy::wants_nocobase_json(get("/api/users:list")));
    EXPECT_TRUE(proxy::wants_nocobase_json(get("/api/")));
    EXPECT_TRUE(proxy::wants_nocobase_json(get("/api")));
    EXPECT_TRUE(proxy::wants_nocobase_json(get("/", "application/json")));
    EXPECT_TRUE(proxy::wants_nocobase_json(get("/admin", "text/plain, application/json;q=0.9")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/admin", "text/html,application/xhtml+xml,*/*;q=0.8")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/apix")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/apidocs/api/x")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/static/api/x.js")));
    EXPECT_FALSE(proxy::wants_nocobase_json(get("/API/users")));  // paths are case-sensitive
}

// The JSON answer, byte for byte: NocoBase's error shape with the command, Retry-After and no-store.
TEST(UnavailableResponse, JsonAnswerIsExact) {
    const proxy::unavailable_answer a{"APP_COMMANDING", "upgrade", "Upgrading to 1.7", "", 30};
    const auto r = proxy::unavailable_response(get("/api/users:list"), a, "rid-1", true);
    const std::string body = R"({"error":{"status":503,"code":"APP_COMMANDING","maintaining":true,)"
                             R"("message":"Upgrading to 1.7","command":{"name":"upgrade"}}})";
    EXPECT_EQ(r, "HTTP/1.1 503 Service Unavailable\r\n"
                 "Content-Type: application/json; charset=utf-8\r\n"
                 "Cache-Control: no-store\r\n"
                 "X-Request-Id: rid-1\r\n"
                 "Retry-After: 30\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n"
                 "\r\n" + body);
}

// Without a command the JSON has no "command" key; the default code is APP_UNAVAILABLE.
TEST(UnavailableResponse, JsonWithoutCommand) {
    proxy::unavailable_answer a;
    a.message = "No node of the cluster is available";
    const auto r = proxy::unavailable_response(get("/api/app:getInfo"), a, "", true);
    EXPECT_EQ(body_of(r), R"({"error":{"status":503,"code":"APP_UNAVAILABLE","maintaining":true,)"
                          R"("message":"No node of the cluster is available"}})");
    EXPECT_NE(r.find("\r\nRetry-After: 10\r\n"), std::string::npos) << "the default is 10 s";
}

// A message with quotes, backslashes, control bytes and HTML stays valid JSON and reads back unchanged.
TEST(UnavailableResponse, JsonMessageIsEscaped) {
    const std::string message = "say \"hi\" \\ <b>\n\x01 done";
    proxy::unavailable_answer a;
    a.message = message;
    const auto r = proxy::unavailable_response(get("/api/x"), a, "", true);
    boost::json::error_code ec;
    const auto v = boost::json::parse(body_of(r), ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << r;
    EXPECT_EQ(v.as_object().at("error").as_object().at("message").as_string(), message);
}

// gatehouse's JSON is what NocoBase sends while it is not running: the same recogniser the health checks use
// reads it as maintaining, with its code and command.
TEST(UnavailableResponse, JsonIsReadAsNocoBaseMaintaining) {
    const proxy::unavailable_answer a{"APP_COMMANDING", "upgrade", "Upgrading", "", 10};
    const auto r = proxy::unavailable_response(get("/api/x"), a, "", true);
    EXPECT_EQ(health::nocobase_maintaining(body_of(r)), "APP_COMMANDING upgrade");
    const proxy::unavailable_answer plain{};
    EXPECT_EQ(health::nocobase_maintaining(body_of(proxy::unavailable_response(get("/api/x"), plain, "", true))),
              "APP_UNAVAILABLE");
}

// A browser gets the short built-in page, the message HTML-escaped; no request id means no X-Request-Id.
TEST(UnavailableResponse, BuiltInPageEscapesTheMessage) {
    proxy::unavailable_answer a;
    a.message = "<script>alert(\"x\")</script> & more";
    a.retry_after_seconds = 5;
    const auto r = proxy::unavailable_response(get("/"), a, "", true);
    const std::string body =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Service unavailable</title></head>"
        "<body><h1>Service unavailable</h1><p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more</p>"
        "<p>Please try again in a moment.</p></body></html>\n";
    EXPECT_EQ(r, "HTTP/1.1 503 Service Unavailable\r\n"
                 "Content-Type: text/html; charset=utf-8\r\n"
                 "Cache-Control: no-store\r\n"
                 "Retry-After: 5\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n"
                 "\r\n" + body);
}

// A configured page is sent as it is (it was filled and escaped when the snapshot was built); the API still gets
// JSON.
TEST(UnavailableResponse, ConfiguredPageForBrowsersJsonForTheApi) {
    proxy::unavailable_answer a;
    a.message = "m";
    a.html_page = "<html><p>Back soon & <b>fast</b></p></html>";
    const auto page = proxy::unavailable_response(get("/admin"), a, "r", true);
    EXPECT_EQ(body_of(page), a.html_page);
    EXPECT_NE(page.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
    const auto api = proxy::unavailable_response(get("/api/x"), a, "r", true);
    EXPECT_NE(api.find("Content-Type: application/json; charset=utf-8\r\n"), std::string::npos);
    EXPECT_EQ(body_of(api).find("<html>"), std::string::npos);
}

// HEAD gets the same head (Content-Length of the body it would have had) and no body; a closing answer says so.
TEST(UnavailableResponse, HeadHasNoBodyAndCloseIsAnnounced) {
    proxy::unavailable_answer a;
    a.message = "m";
    const auto full = proxy::unavailable_response(get("/"), a, "rid", false);
    const auto head = proxy::unavailable_response(request(http::verb::head, "/"), a, "rid", false);
    EXPECT_EQ(head, head_of(full));
    EXPECT_NE(head.find("Content-Length: " + std::to_string(body_of(full).size()) + "\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(proxy::unavailable_response(get("/"), a, "rid", true).find("Connection:"), std::string::npos);
}
