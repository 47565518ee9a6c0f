// Nodes that say they are starting (NocoBase's 503 "maintaining" while it boots or upgrades) when no node is up:
// clients get the node's own answer and WebSocket, a starting node is checked often and comes back within a second
// of being ready, and an open WebSocket is not cut when its node goes from up to starting.
#include "harness.hpp"
#include "support/websocket_client.hpp"
#include "support/websocket_node.hpp"

#include <boost/json/parse.hpp>

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;

/// Checks every 200 ms, rise 2, fall 2, no jitter, plus `extra`.
std::vector<std::pair<std::string, std::string>> fast_checks(std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> v{{"interval", "\"200ms\""}, {"timeout", "\"300ms\""},
                                                       {"rise", "2"}, {"fall", "2"}, {"jitter", "\"0ms\""}};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

class StartingNodes : public GatehouseTest {
protected:
    websocket_node& add_ws_node(std::string name) {
        ws_nodes_.push_back(std::make_unique<websocket_node>(std::move(name)));
        return *ws_nodes_.back();
    }
    void TearDown() override {
        GatehouseTest::TearDown();
        gatehouses_.clear();  // before the nodes they talk to
        ws_nodes_.clear();
    }
    std::vector<std::unique_ptr<websocket_node>> ws_nodes_;
};

}  // namespace

// One node down, the other upgrading: the API client gets that node's own 503 (status, code, command and its
// progress message "upgrading", which gatehouse's own answers never carry), and the request reached the node.
TEST_F(StartingNodes, NoNodeUpRelaysTheStartingNodesOwnAnswer) {
    auto& a = add_upstream("a");
    a.set_health(health_mode::starting);
    auto& gh = start_gatehouse({.nodes = {{"dead", closed_address()}, {"a", a.address()}},
                                .health_check = fast_checks()});
    ASSERT_TRUE(gh.wait_for_log("a starting: APP_COMMANDING upgrade: upgrading", 3s)) << gh.log();
    ASSERT_TRUE(gh.wait_for_log("dead down:", 3s)) << gh.log();
    const auto before = a.requests();
    const auto api = get(gh.port(), "/api/app:getInfo");
    EXPECT_EQ(api.status, 503u) << api.raw;
    EXPECT_EQ(a.requests(), before + 1) << "the request did not reach the starting node";
    const auto body = boost::json::parse(api.body).as_object();
    const auto& e = body.at("error").as_object();
    EXPECT_EQ(e.at("code").as_string(), "APP_COMMANDING") << api.raw;
    EXPECT_EQ(e.at("message").as_string(), "upgrading") << api.raw;
    EXPECT_EQ(e.at("command").as_object().at("name").as_string(), "upgrade") << api.raw;
    EXPECT_EQ(e.at("maintaining").as_bool(), true) << api.raw;
}

// A starting node is checked every starting_interval, and its first passing check brings it up: with a 5 s
// interval and rise 3 it still takes traffic well within a second or two of saying ok (before: >= 10 s).
TEST_F(StartingNodes, StartingNodeTakesTrafficSoonAfterItIsReady) {
    auto& a = add_upstream("a");
    a.set_health(health_mode::starting);
    auto& gh = start_gatehouse({.health_check = {{"interval", "\"5s\""}, {"timeout", "\"300ms\""}, {"rise", "3"},
                                                 {"jitter", "\"0ms\""}, {"starting_interval", "\"200ms\""}}});
    ASSERT_TRUE(gh.wait_for_log("a starting:", 3s)) << gh.log();
    const auto ready = clock::now();
    a.set_health(health_mode::ok);
    ASSERT_TRUE(gh.wait_for_log("a up:", 4s)) << "a starting node was not back quickly:\n" << gh.log();
    EXPECT_LT(clock::now() - ready, 2500ms);
    const auto page = get(gh.port(), "/");
    EXPECT_EQ(page.status, 200u) << page.raw;
}

// With no node up, a WebSocket upgrade goes to the starting node (NocoBase keeps it open through the upgrade and
// tells the browser to reload when the app runs); the tunnel carries messages.
TEST_F(StartingNodes, WebSocketUpgradeGoesToTheStartingNode) {
    auto& node = add_ws_node("alpha");
    node.set_starting(true);
    auto& gh = start_gatehouse({.nodes = {{"alpha", node.address()}}, .health_check = fast_checks()});
    ASSERT_TRUE(gh.wait_for_log("alpha starting:", 3s)) << gh.log();
    websocket_client ws(gh.port());
    ws.send("whoami");
    EXPECT_EQ(ws.read(), "node=alpha");
    EXPECT_EQ(node.upgrades(), 1u);
}

// An open WebSocket stays open when its node goes from up to starting (NocoBase upgrading in place keeps it and
// sends progress over it); it ends only when a side closes it.
TEST_F(StartingNodes, OpenTunnelSurvivesItsNodeGoingStarting) {
    auto& alpha = add_ws_node("alpha");
    auto& beta = add_ws_node("beta");
    auto& gh = start_gatehouse({.nodes = {{"alpha", alpha.address()}, {"beta", beta.address()}},
                                .upstream = {{"balance", "\"ip_hash\""}}, .health_check = fast_checks()});
    ASSERT_TRUE(gh.wait_for_log("alpha up:", 3s)) << gh.log();
    ASSERT_TRUE(gh.wait_for_log("beta up:", 3s)) << gh.log();
    websocket_client ws(gh.port());
    ws.send("whoami");
    const auto who = ws.read();
    auto& mine = who == "node=alpha" ? alpha : beta;
    const std::string name = who.substr(5);
    mine.set_starting(true);
    ASSERT_TRUE(gh.wait_for_log(name + " starting:", 3s)) << gh.log();
    for (int i = 0; i < 5; ++i) {
        ws.send("still " + std::to_string(i));
        EXPECT_EQ(ws.read(), "still " + std::to_string(i));
    }
    mine.set_starting(false);
    ASSERT_TRUE(gh.wait_for_log(name + " up:", 3s)) << gh.log();
    ws.send("after");
    EXPECT_EQ(ws.read(), "after");
    EXPECT_EQ(mine.open(), 1u);
}

}  // namespace gatehouse::test
