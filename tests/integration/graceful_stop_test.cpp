// SIGTERM: stop accepting, let in-flight requests finish, close idle connections, exit 0.
#include "harness.hpp"

#include <csignal>

namespace gatehouse::test {
namespace {

class GracefulStop : public GatehouseTest {};

using clock = std::chrono::steady_clock;

// A request in flight when SIGTERM arrives completes with 200, new connections are refused, and the exit code is 0.
TEST_F(GracefulStop, InFlightRequestCompletesAndProcessExitsZero) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"shutdown_drain", "10s"}}});
    client_connection c(gh.port(), 10s);
    c.send(get_request("/slow/1500"));
    ASSERT_TRUE(node.wait_for_requests(1, 5s));

    gh.signal(SIGTERM);
    ASSERT_TRUE(gh.wait_for_log("SIGTERM", 2s)) << "gatehouse did not log the signal";

    // A connection attempted after the signal is refused, or closed without being served.
    const auto m = unique_marker();
    bool refused = false;
    raw_result late;
    try {
        late = raw_exchange(gh.port(), get_request("/late-" + m), 3s);
    } catch (const std::runtime_error& e) {
        refused = true;
        EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
    if (!refused) {
        EXPECT_TRUE(late.closed) << "a connection made after SIGTERM stayed open";
        EXPECT_NE(late.status(), 200u) << late.data;
    }

    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "slow");
    EXPECT_TRUE(iequal(r.header("Connection"), "close")) << r.raw_head();

    const auto code = gh.wait_exit(5s);
    ASSERT_TRUE(code.has_value()) << "gatehouse still running 5 s after the request completed";
    EXPECT_EQ(*code, 0);
    EXPECT_FALSE(node.received("/late-" + m));
}

// An idle keep-alive connection is closed at SIGTERM and the process exits 0 promptly.
TEST_F(GracefulStop, IdleKeepAliveConnectionIsClosedAndProcessExitsZero) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"shutdown_drain", "10s"}}});
    client_connection c(gh.port());
    c.send(get_request("/"));
    ASSERT_EQ(c.read_response().status, 200u);

    const auto start = clock::now();
    gh.signal(SIGTERM);
    EXPECT_TRUE(c.is_closed_by_peer(3s)) << "idle connection still open";
    const auto code = gh.wait_exit(5s);
    ASSERT_TRUE(code.has_value()) << "gatehouse still running after SIGTERM";
    EXPECT_EQ(*code, 0);
    EXPECT_LT(clock::now() - start, 3s);
}

}  // namespace
}  // namespace gatehouse::test
