// The request checks Beast 1.81 leaves to the proxy: framing, Host, target, body limit.
#include <gatehouse/proxy/request_checks.hpp>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

/// Parses a request head with Beast the way the session does, then runs the checks.
request_verdict verdict_for(const std::string& head, std::uint64_t max_body = 1 << 20) {
    http::request_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    boost::system::error_code ec;
    parser.put(net::buffer(head), ec);
    if (ec || !parser.is_header_done()) {
        request_verdict v;
        v.status = http::status::bad_request;
        v.reason = "beast refused";
        return v;
    }
    return check_request(parser.get(), max_body);
}

}  // namespace

// A plain GET with Host passes and has no body.
TEST(RequestChecks, AcceptsPlainGet) {
    const auto v = verdict_for("GET /api/users:list?page=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(v.accepted());
    EXPECT_EQ(v.framing, body_framing::none);
}

// Content-Length framing is reported with its value; identical duplicates collapse.
TEST(RequestChecks, ReportsContentLength) {
    auto v = verdict_for("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
    EXPECT_EQ(v.framing, body_framing::content_length);
    EXPECT_EQ(v.content_length, 5u);
    v = verdict_for("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    EXPECT_TRUE(v.accepted());
    EXPECT_EQ(v.content_length, 5u);
}

// Transfer-Encoding: chunked (any case, with spaces) is chunked framing.
TEST(RequestChecks, AcceptsChunked) {
    const auto v = verdict_for("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \r\n\r\n");
    EXPECT_TRUE(v.accepted());
    EXPECT_EQ(v.framing, body_framing::chunked);
}

// Every smuggling vector Beast 1.81 lets through is refused with 400.
TEST(RequestChecks, RejectsSmugglingVectors) {
    const char* heads[] = {
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (const char* h : heads) {
        const auto v = verdict_for(h);
        EXPECT_EQ(v.status, http::status::bad_request) << h;
    }
}

// A Host with a space, a tab, a control byte or other bytes that are not host and port characters gets 400;
// names, IPv4, [IPv6] and ports pass.
TEST(RequestChecks, RefusesHostWithSpacesOrControlBytes) {
    // (DEL and other control bytes are refused by Beast's parser already; bad_input_test sends them end to end.)
    for (const char* host : {"a b", "a\tb", "caf\xc3\xa9.example", "a/b", "user@a", "a\"b", "a\\b"}) {
        const auto v = verdict_for(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
        EXPECT_EQ(v.status, http::status::bad_request) << host;
        EXPECT_EQ(v.reason, "invalid Host header") << host;
    }
    for (const char* host : {"a", "app.example.test", "127.0.0.1:8080", "[::1]:8080", "xn--caf-dma.example", "a_b.c-d"})
        EXPECT_TRUE(verdict_for(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n").accepted()) << host;
    EXPECT_TRUE(verdict_for("GET / HTTP/1.0\r\n\r\n").accepted());
}

// HTTP/1.1 needs exactly one Host; HTTP/1.0 may omit it but not repeat it.
TEST(RequestChecks, ChecksHost) {
    EXPECT_EQ(verdict_for("GET / HTTP/1.1\r\n\r\n").status, http::status::bad_request);
    EXPECT_EQ(verdict_for("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, http::status::bad_request);
    EXPECT_TRUE(verdict_for("GET / HTTP/1.0\r\n\r\n").accepted());
    EXPECT_EQ(verdict_for("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").status, http::status::bad_request);
}

// Only origin-form targets of visible ASCII without '#' (or "*" for OPTIONS) are accepted.
TEST(RequestChecks, ChecksTarget) {
    EXPECT_EQ(verdict_for("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n").status, http::status::bad_request);
    EXPECT_EQ(verdict_for("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n").status, http::status::bad_request);
    EXPECT_EQ(verdict_for("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n").status, http::status::bad_request);
    EXPECT_EQ(verdict_for("GET * HTTP/1.1\r\nHost: a\r\n\r\n").status, http::status::bad_request);
    EXPECT_TRUE(verdict_for("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").accepted());
}

// CONNECT is refused with 405.
TEST(RequestChecks, RefusesConnect) {
    EXPECT_EQ(verdict_for("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n").status, http::status::method_not_allowed);
}

// A Content-Length above the limit is refused with 413 before any body byte; 0 means unlimited.
TEST(RequestChecks, EnforcesBodyLimit) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n";
    EXPECT_EQ(verdict_for(head, 1000).status, http::status::payload_too_large);
    EXPECT_TRUE(verdict_for(head, 2000).accepted());
    EXPECT_TRUE(verdict_for(head, 0).accepted());
}

// Only GET, HEAD, OPTIONS, PUT and DELETE may ever go twice (issue 18 §2); everything else, TRACE and the WebDAV
// methods included, counts as non-idempotent.
TEST(RequestChecks, KnowsIdempotentMethods) {
    for (const auto m : {http::verb::get, http::verb::head, http::verb::options, http::verb::put, http::verb::delete_})
        EXPECT_TRUE(is_idempotent(m)) << http::to_string(m);
    for (const auto m : {http::verb::post, http::verb::patch, http::verb::trace, http::verb::lock, http::verb::mkcol,
                         http::verb::propfind, http::verb::unknown})
        EXPECT_FALSE(is_idempotent(m)) << http::to_string(m);
}
