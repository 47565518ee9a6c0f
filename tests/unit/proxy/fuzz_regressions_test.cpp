// Inputs the fuzz targets (tests/fuzz/) found, kept as regression tests. Each test names the target and the file
// in tests/fuzz/regressions/ that holds the raw input (first two bytes: the target's parameters).
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/request_checks.hpp>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

std::string regression_input(const std::string& name) {
    std::ifstream f(std::string(GATEHOUSE_SOURCE_DIR) + "/tests/fuzz/regressions/" + name, std::ios::binary);
    EXPECT_TRUE(f) << name;
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// The head gatehouse sends to the node for `client_head` (which must be accepted by check_request).
std::string forwarded(const std::string& client_head) {
    http::request_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    error_code ec;
    p.put(net::buffer(client_head), ec);
    EXPECT_FALSE(ec) << ec.message();
    const auto verdict = check_request(p.get(), 0);
    EXPECT_TRUE(verdict.accepted()) << verdict.reason;
    forward_context ctx;
    ctx.peer_ip = "127.0.0.1";
    ctx.client_ip = "127.0.0.1";
    ctx.request_id = "0123456789abcdef0123456789abcdef";
    std::string out;
    write_upstream_request_head(out, p.get(), ctx, verdict.framing, verdict.content_length);
    return out;
}

/// The forwarded head, parsed as the node parses it, must pass the same checks (HTTP/1.1: exactly one Host).
void expect_valid_for_node(const std::string& head) {
    http::request_parser<http::empty_body> p;
    error_code ec;
    p.put(net::buffer(head), ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << head;
    ASSERT_TRUE(p.is_header_done());
    EXPECT_EQ(p.get().version(), 11u);
    EXPECT_EQ(p.get().count(http::field::host), 1u) << head;
    EXPECT_TRUE(check_request(p.get(), 0).accepted()) << head;
}

}  // namespace

// request_path: an HTTP/1.0 request without Host was forwarded as HTTP/1.1 without Host, which a node must refuse
// (Node.js answers 400). The node now gets an empty Host (RFC 9112 3.2).
TEST(FuzzRegressions, RequestPathHttp10WithoutHostGetsAnEmptyHost) {
    const auto input = regression_input("request_path-http10-no-host");
    ASSERT_GT(input.size(), 2u);
    const std::string head = input.substr(2);
    ASSERT_EQ(head, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const auto out = forwarded(head);
    EXPECT_NE(out.find("\r\nHost: \r\n"), std::string::npos) << out;
    expect_valid_for_node(out);
}

// The same property for a Host listed in Connection: it is not hop-by-hop, and dropping it would leave the node's
// HTTP/1.1 request without one.
TEST(FuzzRegressions, HostListedInConnectionIsStillForwarded) {
    const auto out = forwarded("GET / HTTP/1.1\r\nHost: app.example\r\nConnection: host, keep-alive\r\n\r\n");
    EXPECT_NE(out.find("\r\nHost: app.example\r\n"), std::string::npos) << out;
    expect_valid_for_node(out);
}
