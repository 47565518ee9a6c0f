// Nodes that are down, slow, or close pooled connections: 502, retries, 504.
#include "harness.hpp"

#include <thread>

namespace gatehouse::test {
namespace {

class UpstreamFailures : public GatehouseTest {};

using clock = std::chrono::steady_clock;

// With its only node on a closed port, each request gets 502 with a short text body naming no node (the log
// names it), and the connection survives.
TEST_F(UpstreamFailures, UnreachableNodeAnswers502WithShortBody) {
    auto& gh = start_gatehouse({.nodes = {{"dead", closed_address()}}, .timeouts = {{"upstream_connect", "1s"}}});
    client_connection c(gh.port());
    for (int i = 0; i < 2; ++i) {
        SCOPED_TRACE(i);
        c.send(get_request("/"));
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 502u) << r.raw;
        EXPECT_EQ(r.body.rfind("502", 0), 0u) << r.body;
        EXPECT_LT(r.body.size(), 512u) << r.body;
        EXPECT_EQ(r.body.find("dead"), std::string::npos) << "the body names the node: " << r.body;
        EXPECT_EQ(r.body.find("127.0.0.1"), std::string::npos) << "the body names an address: " << r.body;
    }
    EXPECT_TRUE(gh.running()) << "gatehouse died";
    EXPECT_NE(gh.log().find("cannot connect to dead"), std::string::npos) << "the log keeps the detail";
}

// With a dead node and a live node, every one of 50 GETs is answered 200 by the live node.
TEST_F(UpstreamFailures, DeadNodeIsRetriedOnLiveNode) {
    auto& live = add_upstream("live");
    auto& gh = start_gatehouse({.nodes = {{"dead", closed_address()}, {"live", live.address()}},
                                .timeouts = {{"upstream_connect", "1s"}}});
    client_connection c(gh.port());
    for (int i = 0; i < 50; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
        ASSERT_EQ(r.header("X-Node"), "live");
    }
    EXPECT_EQ(live.requests(), 50u);
}

// A node that sends no response head within upstream_response gets the client a 504 in about that time, naming
// neither the node nor its address nor the error.
TEST_F(UpstreamFailures, SlowNodeAnswers504) {
    add_upstream("slowpoke");
    auto& gh = start_gatehouse({.timeouts = {{"upstream_response", "1s"}}});
    client_connection c(gh.port(), 5s);
    const auto start = clock::now();
    c.send(get_request("/slow/3000"));
    const auto r = c.read_response();
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    EXPECT_EQ(r.status, 504u) << r.raw;
    EXPECT_LT(r.body.size(), 512u) << r.body;
    for (const char* detail : {"slowpoke", "127.0.0.1", "timed out"})  // the log keeps them
        EXPECT_EQ(r.raw.find(detail), std::string::npos) << "the answer names " << detail << ": " << r.raw;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, 2500ms);
}

// Pooled connections the node closed after 300 ms idle are not a failure: 10 GETs 500 ms apart all get 200.
TEST_F(UpstreamFailures, StalePooledConnectionsAreReplaced) {
    auto& node = add_upstream(upstream_options{.name = "alpha", .idle_close = 300ms});
    auto& gh = start_gatehouse({.timeouts = {{"upstream_idle", "10s"}}});
    client_connection c(gh.port());
    for (int i = 0; i < 10; ++i) {
        // The node has closed the pooled connection (it idled past idle_close) before the next request.
        if (i > 0) {
            ASSERT_TRUE(wait_until([&] { return node.open_connections() == 0; }, 3s)) << "request " << i;
        }
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
    }
    EXPECT_EQ(node.requests(), 10u);
    EXPECT_GT(node.connections(), 1u);
}

// A pooled connection the node closes just as a request arrives on it is retried on a fresh connection: all 200.
TEST_F(UpstreamFailures, ReusedConnectionClosedBeforeAnswerIsRetriedOnFreshConnection) {
    auto& node = add_upstream(upstream_options{.name = "alpha", .drop_reused = true});
    auto& gh = start_gatehouse({.upstream = {{"tries", "1"}}});
    client_connection c(gh.port());
    for (int i = 0; i < 5; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
    }
    // Requests 2..5 each found their pooled connection dropped and went again on a new one.
    EXPECT_EQ(node.connections(), 5u);
    EXPECT_EQ(node.requests(), 9u);
}

// A node that dies in the middle of a body of at most 64 KiB: gatehouse holds such a body whole before sending
// anything, so the client gets a clean 502 (not a truncated 200) and the node is not asked again (it has seen the
// request).
TEST_F(UpstreamFailures, NodeDyingMidSmallBodyGets502) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.workers = 1});
    const auto r = raw_exchange(gh.port(), get_request("/truncated/1000"));
    EXPECT_EQ(r.status(), 502u) << r.data;
    EXPECT_NE(gh.log().find("failed mid-response"), std::string::npos) << gh.log();
    EXPECT_EQ(r.data.find("alpha"), std::string::npos) << "the client must not see the node: " << r.data;
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(node.requests(), 1u);
    // The next request is served normally.
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
}

// Above 64 KiB the body is streamed: the client has the head and part of the body when the node dies, so the only
// honest signal left is closing the connection before the promised length.
TEST_F(UpstreamFailures, NodeDyingMidLargeBodyClosesAfterPartialBody) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.workers = 1});
    const auto r = raw_exchange(gh.port(), get_request("/truncated/200000"));
    EXPECT_EQ(r.status(), 200u) << r.data.substr(0, 200);
    EXPECT_TRUE(r.closed);
    const auto head_end = r.data.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_NE(r.data.find("Content-Length: 200000"), std::string::npos) << r.data.substr(0, head_end);
    EXPECT_LT(r.data.size() - head_end - 4, 200000u) << "the body must end short of its length";
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {

// A GET that a node received and then dropped (the node died mid-request) is sent to another node, so the
// client gets 200, not 502.
TEST_F(GatehouseTest, DroppedIdempotentRequestIsRetriedOnAnotherNode) {
    auto& dying = add_upstream("dying");
    auto& live = add_upstream("live");
    auto& gh = start_gatehouse({.upstream = {{"tries", "2"}}});
    // Round-robin: the first request goes to "dying"; stop it while it sleeps on the request.
    std::thread killer = stop_after_first_request(dying);
    const auto r = get(gh.port(), "/slow/1500");
    killer.join();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(live.requests(), 1u);
    EXPECT_NE(gh.log().find("dying sent no valid response"), std::string::npos) << gh.log();
}

}  // namespace gatehouse::test
