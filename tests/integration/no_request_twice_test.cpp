// A non-idempotent request is never sent twice; pooled node connections carry a request only when they are clean.
#include "harness.hpp"

#include <thread>

namespace gatehouse::test {
namespace {

class NoRequestTwice : public GatehouseTest {};

std::string post_request(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// A POST sent on a pooled connection that the node closes before answering is not sent again (the node may have
// executed it): the client gets a 502 naming no node, the node saw the POST once, and the log says why.
TEST_F(NoRequestTwice, PostOnReusedConnectionClosedBeforeAnswerGets502AndIsNotResent) {
    auto& node = add_upstream(upstream_options{.name = "alpha", .drop_reused = true});
    auto& gh = start_gatehouse({.upstream = {{"tries", "2"}}});
    client_connection c(gh.port());
    c.send(get_request("/"));
    ASSERT_EQ(c.read_response().status, 200u);
    const auto marker = unique_marker("post");
    c.send(post_request("/echo", marker));  // right after the GET: the pooled connection is fresh, so it is taken
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 502u) << r.raw;
    EXPECT_EQ(r.raw.find("alpha"), std::string::npos) << "the client must not see the node: " << r.raw;
    EXPECT_EQ(r.raw.find("127.0.0.1"), std::string::npos) << r.raw;
    EXPECT_EQ(node.requests(), 2u) << "the POST reached the node more than once";
    EXPECT_NE(gh.log().find("a POST is never sent twice"), std::string::npos) << gh.log();
}

// A POST does not take a pooled connection that has been idle for a while (the node's idle close may be near):
// it opens a fresh one, so the idle-close race cannot cost it a 502.
TEST_F(NoRequestTwice, PostPrefersFreshConnectionOverOldPooledOne) {
    auto& node = add_upstream(upstream_options{.name = "alpha", .drop_reused = true});
    auto& gh = start_gatehouse({.timeouts = {{"upstream_idle", "20s"}}});
    client_connection c(gh.port());
    c.send(get_request("/"));
    ASSERT_EQ(c.read_response().status, 200u);
    // The scenario itself, not a wait for an event: the connection is parked longer than a POST may reuse one
    // (proxy::single_shot_reuse_ms, 1 s).
    std::this_thread::sleep_for(1500ms);
    c.send(post_request("/echo", "payload"));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "payload");
    EXPECT_EQ(node.requests(), 2u) << "the POST went over the old pooled connection";
    EXPECT_EQ(node.connections(), 2u);
}

// A POST that makes its node die reaches that node only: 502, the other node never sees it.
TEST_F(NoRequestTwice, PostThatKillsItsNodeReachesOneNodeOnly) {
    auto& dying = add_upstream("dying");
    auto& live = add_upstream("live");
    auto& gh = start_gatehouse({.upstream = {{"tries", "2"}}});
    std::thread killer = stop_after_first_request(dying);
    const auto r = raw_exchange(gh.port(), post_request("/slow/1500", "x"));  // round-robin: "dying" first
    killer.join();
    EXPECT_EQ(r.status(), 502u) << r.data;
    EXPECT_EQ(live.requests(), 0u) << "the POST was sent to a second node";
    EXPECT_NE(gh.log().find("a POST is never sent twice"), std::string::npos) << gh.log();
}

// Bytes a node sends on an idle pooled connection (a buggy node) are never taken as the answer to the next
// request: that connection is dropped and the request goes on a clean one.
TEST_F(NoRequestTwice, StrayBytesOnPooledConnectionAreNeverAnAnswer) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"upstream_idle", "20s"}}});
    client_connection c(gh.port());
    c.send(get_request("/stray/100"));
    const auto first = c.read_response();
    ASSERT_EQ(first.status, 200u) << first.raw;
    ASSERT_EQ(first.body, "first");
    // The stray answer (sent 100 ms after the first) is in gatehouse's receive queue of the parked connection.
    ASSERT_TRUE(wait_until([&] { return node.strays_sent() == 1; }, 3s)) << "the node never sent its stray answer";
    c.send(get_request("/"));
    const auto second = c.read_response();
    EXPECT_EQ(second.status, 200u) << second.raw;
    EXPECT_EQ(second.body, "node=alpha") << "a stray answer was relayed";
    EXPECT_EQ(node.connections(), 2u);
}

}  // namespace
}  // namespace gatehouse::test
