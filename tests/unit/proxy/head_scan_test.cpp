// Raw request-head scanning: end detection, limits, obs-fold and bare LF.
#include <gatehouse/proxy/head_scan.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse::proxy;

// A complete head is found and its length includes the final CRLF CRLF.
TEST(HeadScan, FindsEndOfCompleteHead) {
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    const auto r = scan_request_head(head, 0, 16384);
    EXPECT_EQ(r.status, head_scan_status::complete);
    EXPECT_EQ(r.head_length, head.size() - 4);
}

// A head split across reads is found when the rest arrives, even with CRLF CRLF straddling the split.
TEST(HeadScan, FindsEndAcrossReads) {
    const std::string full = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (std::size_t cut = 1; cut < full.size(); ++cut) {
        const auto first = scan_request_head(std::string_view(full).substr(0, cut), 0, 16384);
        ASSERT_EQ(first.status, head_scan_status::need_more) << cut;
        const auto second = scan_request_head(full, cut, 16384);
        ASSERT_EQ(second.status, head_scan_status::complete) << cut;
        EXPECT_EQ(second.head_length, full.size());
    }
}

// A header line continued on the next line (obs-fold) is refused.
TEST(HeadScan, RejectsObsFold) {
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 0, 16384).status,
              head_scan_status::obs_fold);
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n", 0, 16384).status, head_scan_status::obs_fold);
}

// Lines ended by a bare LF are refused, also before the head is complete.
TEST(HeadScan, RejectsBareLf) {
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\nHost: a\n\n", 0, 16384).status, head_scan_status::bare_lf);
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\r\nHost: a\n", 0, 16384).status, head_scan_status::bare_lf);
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 0, 16384).status, head_scan_status::bare_lf);
}

// Over the limit: 414 when the request line itself is unfinished, 431 otherwise.
TEST(HeadScan, ClassifiesOversizeHeads) {
    const std::string long_target = "GET /" + std::string(5000, 'a');
    EXPECT_EQ(scan_request_head(long_target, 0, 4096).status, head_scan_status::target_too_long);
    const std::string many_fields = "GET / HTTP/1.1\r\n" + std::string(5000, 'b');
    EXPECT_EQ(scan_request_head(many_fields, 0, 4096).status, head_scan_status::head_too_large);
    const std::string complete_but_big = "GET / HTTP/1.1\r\nX: " + std::string(5000, 'c') + "\r\n\r\n";
    EXPECT_EQ(scan_request_head(complete_but_big, 0, 4096).status, head_scan_status::head_too_large);
}

// A head exactly at the limit is accepted.
TEST(HeadScan, AcceptsHeadAtLimit) {
    std::string head = "GET / HTTP/1.1\r\nX: ";
    head += std::string(100 - head.size() - 4, 'd') + "\r\n\r\n";
    ASSERT_EQ(head.size(), 100u);
    EXPECT_EQ(scan_request_head(head, 0, 100).status, head_scan_status::complete);
}

// Empty lines before the request line are counted so they can be skipped (RFC 9112 §2.2).
TEST(HeadScan, CountsLeadingEmptyLines) {
    EXPECT_EQ(leading_empty_lines("\r\n\r\nGET /"), 4u);
    EXPECT_EQ(leading_empty_lines("GET /"), 0u);
    EXPECT_EQ(leading_empty_lines("\r"), 0u);
}
