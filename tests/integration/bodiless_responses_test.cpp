// HEAD, 204 and 304 answers carry no body, and the connection stays usable after them.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class BodilessResponses : public GatehouseTest {};

// HEAD gets the GET headers with Content-Length and no body, and the next request on the connection works.
TEST_F(BodilessResponses, HeadGetsContentLengthWithoutBodyAndConnectionStaysUsable) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send("HEAD /download/12345 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const auto r = c.read_response(/*head_request=*/true);
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.header("Content-Length"), "12345") << r.raw;
    EXPECT_EQ(r.header("X-Node"), "alpha");
    EXPECT_FALSE(c.is_closed_by_peer(200ms));
    EXPECT_EQ(c.pending(), "") << "bytes after the HEAD answer";

    c.send(get_request("/"));
    const auto next = c.read_response();
    EXPECT_EQ(next.status, 200u) << next.raw;
    EXPECT_EQ(next.body, "node=alpha");
}

// 204 and 304 answers have no body, and the connection serves the next request.
TEST_F(BodilessResponses, NoContentAndNotModifiedHaveNoBodyAndConnectionStaysUsable) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    for (const unsigned status : {204u, 304u}) {
        SCOPED_TRACE(status);
        c.send(get_request("/status/" + std::to_string(status)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, status) << r.raw;
        EXPECT_EQ(r.body, "");
        EXPECT_FALSE(r.chunked) << r.raw;
        EXPECT_FALSE(c.is_closed_by_peer(200ms));
        EXPECT_EQ(c.pending(), "") << "bytes after the " << status << " answer";
    }
    c.send(get_request("/"));
    const auto next = c.read_response();
    EXPECT_EQ(next.status, 200u) << next.raw;
    EXPECT_EQ(next.body, "node=alpha");
}

}  // namespace
}  // namespace gatehouse::test
