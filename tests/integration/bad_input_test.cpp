// Hostile and malformed requests: each gets its error status, the connection is closed, and no node sees it.
#include "harness.hpp"

#include <map>

namespace gatehouse::test {
namespace {

struct bad_input {
    std::string bytes;
    unsigned status;
};

/// Every bad input, keyed by name; `m` is a marker placed in the target (and in the smuggled request).
std::map<std::string, bad_input> bad_inputs(const std::string& m) {
    const std::string smuggled = "GET /smuggled-" + m + " HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string big(5000, 'a');
    return {
        {"request-line-junk-after-version", {"GET /bad-" + m + " HTTP/1.1 junk\r\nHost: x\r\n\r\n", 400}},
        {"request-line-bad-version", {"GET /bad-" + m + " HTXP/1.1\r\nHost: x\r\n\r\n", 400}},
        {"request-line-bad-method", {"G(T /bad-" + m + " HTTP/1.1\r\nHost: x\r\n\r\n", 400}},
        {"request-line-no-target", {"GET HTTP/1.1\r\nHost: x\r\nX-M: " + m + "\r\n\r\n", 400}},
        {"head-too-large", {"GET /bad-" + m + " HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 431}},
        {"target-too-long", {"GET /bad-" + m + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 414}},
        // Only the head is sent: the 413 must come without the body.
        {"body-too-large", {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n", 413}},
        {"content-length-then-transfer-encoding",
         {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
              smuggled, 400}},
        {"transfer-encoding-then-content-length",
         {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" +
              smuggled, 400}},
        {"two-different-content-lengths",
         {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello" + smuggled,
          400}},
        {"transfer-encoding-gzip",
         {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, 400}},
        {"transfer-encoding-chunked-identity",
         {"POST /bad-" + m + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
          400}},
        {"chunked-in-http10",
         {"POST /bad-" + m + " HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400}},
        {"obs-fold",
         {"GET /bad-" + m + " HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n" + smuggled, 400}},
        {"bare-lf-everywhere", {"GET /bad-" + m + " HTTP/1.1\nHost: x\n\n" + smuggled, 400}},
        {"bare-lf-in-one-line",
         {"GET /bad-" + m + " HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n" + smuggled, 400}},
        {"control-byte-in-header-value",
         {"GET /bad-" + m + " HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01" "b\r\n\r\n" + smuggled, 400}},
        {"missing-host-http11", {"GET /bad-" + m + " HTTP/1.1\r\nX-A: b\r\n\r\n" + smuggled, 400}},
        {"host-with-space", {"GET /bad-" + m + " HTTP/1.1\r\nHost: app.example evil.example\r\n\r\n" + smuggled, 400}},
        {"host-with-tab", {"GET /bad-" + m + " HTTP/1.1\r\nHost: app.example\tevil\r\n\r\n" + smuggled, 400}},
        {"host-with-del", {"GET /bad-" + m + " HTTP/1.1\r\nHost: app.example\x7f\r\n\r\n" + smuggled, 400}},
        {"host-with-non-ascii", {"GET /bad-" + m + " HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n" + smuggled, 400}},
        {"host-with-slash", {"GET /bad-" + m + " HTTP/1.0\r\nHost: a/b\r\n\r\n", 400}},
    };
}

class BadInput : public GatehouseTest {
protected:
    void SetUp() override {
        node_ = &add_upstream("alpha");
        gh_ = &start_gatehouse({.timeouts = {{"upstream_idle", "60s"}},
                                .limits = {{"max_request_head", "4KiB"}, {"max_request_body", "1MiB"}}});
        marker_ = unique_marker();
    }

    /// Sends the named bad input on a fresh connection: expects its status, a closed connection, that the node
    /// received nothing of it (nor of a smuggled request behind it), and that gatehouse still serves afterwards.
    void expect_rejected(const std::string& name) {
        const auto inputs = bad_inputs(marker_);
        const auto& input = inputs.at(name);
        SCOPED_TRACE(name);
        ASSERT_TRUE(gh_->running()) << "gatehouse is not running (exit code " << gh_->exit_code().value_or(-1) << ")";
        const auto requests_before = node_->requests();
        const auto r = raw_exchange(gh_->port(), input.bytes, 5s);
        EXPECT_EQ(r.status(), input.status) << r.data;
        EXPECT_TRUE(r.closed) << "connection still open after " << r.elapsed.count() << " ms";
        EXPECT_FALSE(node_->received(marker_)) << node_->last_head();
        EXPECT_EQ(node_->requests(), requests_before) << node_->last_head();
        expect_still_serving();
    }

    /// A good request on a new connection is answered by the node.
    void expect_still_serving() {
        const auto before = node_->requests();
        try {
            const auto r = get(gh_->port(), "/after-bad-input");
            EXPECT_EQ(r.status, 200u) << r.raw;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "gatehouse no longer serves after the bad input: " << e.what()
                          << (gh_->running() ? "" : " (the process has died)");
        }
        // Only the good request reached the node.
        EXPECT_EQ(node_->requests(), before + 1);
        EXPECT_NE(first_line(node_->last_head()).find("/after-bad-input"), std::string::npos);
    }

    test_upstream* node_ = nullptr;
    gatehouse_process* gh_ = nullptr;
    std::string marker_;
};

// A malformed request line (junk after the version, bad version, bad method token, no target) gets 400.
TEST_F(BadInput, MalformedRequestLineGets400) {
    for (const char* name : {"request-line-junk-after-version", "request-line-bad-version", "request-line-bad-method",
                             "request-line-no-target"})
        expect_rejected(name);
}

// A request head over limits.max_request_head gets 431.
TEST_F(BadInput, HeadOverLimitGets431) { expect_rejected("head-too-large"); }

// A request line longer than limits.max_request_head gets 414.
TEST_F(BadInput, VeryLongTargetGets414) { expect_rejected("target-too-long"); }

// A Content-Length over limits.max_request_body gets 413 before any of the body is sent.
TEST_F(BadInput, ContentLengthOverLimitGets413BeforeBody) { expect_rejected("body-too-large"); }

// Content-Length followed by Transfer-Encoding gets 400, and the smuggled request behind it never reaches a node.
TEST_F(BadInput, ContentLengthThenTransferEncodingGets400) { expect_rejected("content-length-then-transfer-encoding"); }

// Transfer-Encoding followed by Content-Length gets 400, and the smuggled request behind it never reaches a node.
TEST_F(BadInput, TransferEncodingThenContentLengthGets400) { expect_rejected("transfer-encoding-then-content-length"); }

// Two different Content-Length values get 400, and the smuggled request behind them never reaches a node.
TEST_F(BadInput, TwoDifferentContentLengthsGet400) { expect_rejected("two-different-content-lengths"); }

// Transfer-Encoding: gzip (a coding other than chunked) gets 400, and nothing behind it reaches a node.
TEST_F(BadInput, TransferEncodingGzipGets400) { expect_rejected("transfer-encoding-gzip"); }

// Transfer-Encoding: chunked, identity gets 400, and nothing behind it reaches a node.
TEST_F(BadInput, TransferEncodingChunkedIdentityGets400) { expect_rejected("transfer-encoding-chunked-identity"); }

// Transfer-Encoding: chunked in an HTTP/1.0 request gets 400, and nothing behind it reaches a node.
TEST_F(BadInput, ChunkedInHttp10RequestGets400) { expect_rejected("chunked-in-http10"); }

// A header line continued on the next line (obs-fold) gets 400.
TEST_F(BadInput, ObsFoldGets400) { expect_rejected("obs-fold"); }

// A Host with a space, a tab, DEL, non-ASCII bytes or a character that is no part of a host and port gets 400 and
// the connection is closed; nothing reaches a node.
TEST_F(BadInput, HostWithSpacesOrControlBytesGets400) {
    for (const char* name : {"host-with-space", "host-with-tab", "host-with-del", "host-with-non-ascii", "host-with-slash"})
        expect_rejected(name);
}

// Lines ended by a bare LF (all of them, or just one) get 400.
TEST_F(BadInput, BareLfLineEndingsGet400) {
    expect_rejected("bare-lf-everywhere");
    expect_rejected("bare-lf-in-one-line");
}

// A control byte (\x01) in a header value gets 400.
TEST_F(BadInput, ControlByteInHeaderValueGets400) { expect_rejected("control-byte-in-header-value"); }

// An HTTP/1.1 request without Host gets 400.
TEST_F(BadInput, MissingHostInHttp11Gets400) { expect_rejected("missing-host-http11"); }

// After every kind of bad input, the next request succeeds and gatehouse's open descriptors return to their baseline.
TEST_F(BadInput, NextRequestSucceedsAndDescriptorsReturnToBaseline) {
    ASSERT_EQ(get(gh_->port(), "/").status, 200u);  // the pooled node connection exists in the baseline
    int baseline = -1;
    wait_until(
        [&] {
            const int now = gh_->open_fds();
            const bool stable = now == baseline;
            baseline = now;
            return stable;
        },
        2s, 100ms);
    ASSERT_GT(baseline, 0);

    std::string previous = "(none)";
    for (const auto& [name, input] : bad_inputs(marker_)) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(gh_->running()) << "gatehouse died (exit code " << gh_->exit_code().value_or(-1)
                                    << ") after the bad input " << previous;
        previous = name;
        const auto r = raw_exchange(gh_->port(), input.bytes, 5s);
        EXPECT_EQ(r.status(), input.status) << r.data;
        EXPECT_TRUE(r.closed);
    }
    EXPECT_FALSE(node_->received(marker_));
    EXPECT_EQ(node_->requests(), 1u) << "only the warm-up request reaches the node: " << node_->last_head();

    const auto r = get(gh_->port(), "/");
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "node=alpha");
    int now = -1;
    EXPECT_TRUE(wait_until([&] { return (now = gh_->open_fds()) <= baseline + 2; }, 5s))
        << "open descriptors: " << now << ", baseline " << baseline;
}

}  // namespace
}  // namespace gatehouse::test
