// HTTP/1.0 clients: closed after the answer unless they ask for keep-alive.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class Http10Clients : public GatehouseTest {};

// An HTTP/1.0 request without keep-alive gets its answer, then gatehouse closes the connection.
TEST_F(Http10Clients, WithoutKeepAliveGetsAnswerAndConnectionCloses) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "node=alpha");
    EXPECT_TRUE(c.is_closed_by_peer(3s)) << "connection still open";
}

// An HTTP/1.0 request with Connection: keep-alive is answered and the connection serves the next request.
TEST_F(Http10Clients, WithKeepAliveConnectionStaysOpen) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        c.send("GET / HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
        EXPECT_EQ(r.body, "node=alpha");
        EXPECT_TRUE(iequal(r.header("Connection"), "keep-alive")) << r.raw_head();
        EXPECT_FALSE(c.is_closed_by_peer(200ms)) << "connection closed after request " << i;
    }
    EXPECT_EQ(node.requests(), 3u);
}

}  // namespace
}  // namespace gatehouse::test
