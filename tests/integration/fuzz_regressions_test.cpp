// Inputs the fuzz targets found (tests/fuzz/regressions/), replayed through the real gatehouse binary.
#include "harness.hpp"

#include <thread>

namespace gatehouse::test {
namespace {

class FuzzRegressions : public GatehouseTest {};

// request_path-split-leading-crlf: an empty line before the request line (RFC 9112 2.2 lets a server skip it)
// whose CR and LF arrive in different reads was not skipped: the head then started with CRLF and got 400.
TEST_F(FuzzRegressions, EmptyLineBeforeRequestLineSplitAcrossReadsIsSkipped) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto m = unique_marker("crlf");
    client_connection c(gh.port());
    c.send("\r");
    // gatehouse reads the CR alone: its socket has nothing left unread before the rest is sent.
    ASSERT_TRUE(wait_until([&] { return unread_by_peer(c.fd()) == 0; }, 3s)) << unread_by_peer(c.fd());
    c.send("\nGET /" + m + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_TRUE(node.received(m));
}

}  // namespace
}  // namespace gatehouse::test
