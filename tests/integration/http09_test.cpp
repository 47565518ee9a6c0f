// An HTTP/0.9 request line (no version) is answered 400 and closed at once, not left open until client_header.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class Http09 : public GatehouseTest {};

// `GET /` then CRLF: 400 and a close well within a second, though client_header would allow 30 s.
TEST_F(Http09, RequestLineWithoutVersionIsRefusedAtOnce) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"client_header", "30s"}}});
    const auto m = unique_marker();
    const auto r = raw_exchange(gh.port(), "GET /http09-" + m + "\r\n", 3s);
    EXPECT_EQ(r.status(), 400u) << r.data;
    EXPECT_TRUE(r.closed) << "connection still open after " << r.elapsed.count() << " ms";
    EXPECT_LT(r.elapsed, 1000ms);
    EXPECT_FALSE(node.received(m));
    EXPECT_EQ(node.requests(), 0u);
    // gatehouse still serves.
    EXPECT_EQ(get(gh.port(), "/after").status, 200u);
}

}  // namespace
}  // namespace gatehouse::test
