// gatehouse's own error answers.
#include <gatehouse/proxy/error_response.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;

// An error answer is a complete response with a short body whose length matches Content-Length.
TEST(ErrorResponse, IsCompleteAndShort) {
    const auto r = proxy::error_response(http::status::bad_gateway, "cannot connect to node1", "rid", false);
    EXPECT_EQ(r.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u);
    const auto body = r.substr(r.find("\r\n\r\n") + 4);
    EXPECT_EQ(body, "502 Bad Gateway\n");
    EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
    EXPECT_NE(r.find("X-Request-Id: rid\r\n"), std::string::npos);
}

// A keep-alive error answer does not announce a close.
TEST(ErrorResponse, KeepAliveOmitsClose) {
    const auto r = proxy::error_response(http::status::bad_gateway, "", "", true);
    EXPECT_EQ(r.find("Connection: close"), std::string::npos);
    EXPECT_EQ(r.find("X-Request-Id"), std::string::npos);
}

// A 5xx answer names no node, address or socket error, whatever detail the log got; a 4xx keeps its detail
// (it is about the client's own request).
TEST(ErrorResponse, ServerSideDetailStaysInTheLog) {
    for (const auto status : {http::status::bad_gateway, http::status::gateway_timeout,
                              http::status::service_unavailable, http::status::internal_server_error}) {
        const auto r = proxy::error_response(status, "node node1 (10.0.0.7:13000) failed: Connection reset by peer",
                                             "", false);
        EXPECT_EQ(r.find("node1"), std::string::npos) << r;
        EXPECT_EQ(r.find("10.0.0.7"), std::string::npos) << r;
        EXPECT_EQ(r.find("reset"), std::string::npos) << r;
    }
    const auto bad = proxy::error_response(http::status::bad_request, "line not ended by CRLF", "", false);
    EXPECT_NE(bad.find("400 Bad Request: line not ended by CRLF\n"), std::string::npos) << bad;
}

// add_field puts a field right after the status line and leaves the rest (head end, body, length) as it was.
TEST(ErrorResponse, AddFieldGoesAfterTheStatusLine) {
    auto r = proxy::error_response(http::status::bad_gateway, "", "", true);
    const auto before = r;
    proxy::add_field(r, "Strict-Transport-Security", "max-age=600");
    EXPECT_EQ(r, "HTTP/1.1 502 Bad Gateway\r\nStrict-Transport-Security: max-age=600\r\n" +
                     before.substr(before.find("\r\n") + 2));
}
