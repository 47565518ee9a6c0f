// The request head reader over a growing buffer: skips, waits, completes, refuses (HTTP/0.9 included).
#include <gatehouse/proxy/head_reader.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

/// Feeds `bytes` one byte at a time as a socket might, applying skips; the first status that is not need_more.
head_progress read_bytewise(std::string_view bytes, std::size_t max_head, std::string& kept) {
    request_head_reader reader(max_head);
    kept.clear();
    for (const char c : bytes) {
        kept.push_back(c);
        const auto p = reader.next(kept);
        kept.erase(0, p.skip);
        if (p.status != head_scan_status::need_more) return p;
    }
    return {};
}

}  // namespace

// Empty lines before the request line are skipped, and the head is found whatever the pieces.
TEST(HeadReader, SkipsLeadingEmptyLinesAndFindsTheHead) {
    std::string kept;
    const auto p = read_bytewise("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 4096, kept);
    EXPECT_EQ(p.status, head_scan_status::complete);
    EXPECT_EQ(kept.substr(0, p.head_length), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

// HTTP/0.9's request line (no version) is refused as soon as its line ends: there is no head to wait for.
TEST(HeadReader, RefusesAnHttp09RequestLineAtOnce) {
    std::string kept;
    EXPECT_EQ(read_bytewise("GET /\r\n", 4096, kept).status, head_scan_status::no_version);
    EXPECT_EQ(read_bytewise("GET\r\n", 4096, kept).status, head_scan_status::no_version);
    request_head_reader all_at_once(4096);
    EXPECT_EQ(all_at_once.next("GET /\r\n").status, head_scan_status::no_version);
    EXPECT_EQ(rejection_of(head_scan_status::no_version).status, http::status::bad_request);
    // A request line with a version still waits for the rest of its head.
    request_head_reader with_version(4096);
    EXPECT_EQ(with_version.next("GET / HTTP/1.0\r\n").status, head_scan_status::need_more);
}

// Each refusal keeps its status and reason.
TEST(HeadReader, RejectionStatusesAndReasons) {
    EXPECT_EQ(rejection_of(head_scan_status::target_too_long).status, http::status::uri_too_long);
    EXPECT_EQ(rejection_of(head_scan_status::head_too_large).status, http::status::request_header_fields_too_large);
    EXPECT_EQ(rejection_of(head_scan_status::obs_fold).reason, "obsolete line folding in a header");
    EXPECT_EQ(rejection_of(head_scan_status::bare_lf).reason, "line not ended by CRLF");
}

// A lone CR before the request line waits for its LF instead of being scanned as a request line.
TEST(HeadReader, LoneCrWaits) {
    request_head_reader reader(4096);
    const auto p = reader.next("\r");
    EXPECT_EQ(p.status, head_scan_status::need_more);
    EXPECT_EQ(p.skip, 0u);
}
