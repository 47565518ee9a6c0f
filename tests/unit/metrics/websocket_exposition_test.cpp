// The WebSocket families of a scrape: open tunnels per node, upgrades by result, tunnelled bytes by direction.
#include <gatehouse/metrics/exposition.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.rfind(line + "\n", 0) == 0 || text.find("\n" + line + "\n") != std::string::npos;
}

metrics::scrape with_tunnels() {
    metrics::scrape s;
    metrics::node_sample a;
    a.name = std::string("a");
    a.state = std::string("up");
    a.websockets = 3;
    metrics::node_sample b;
    b.name = std::string("b");
    b.state = std::string("up");
    s.nodes = {a, b};
    s.requests.nodes.resize(2);
    s.requests.websocket_upgrades = {5, 1, 2, 4};
    s.requests.websocket_bytes = {1000, 2000};
    return s;
}

}  // namespace

TEST(WebSocketExposition, OpenTunnelsPerNode) {
    const auto text = metrics::render(with_tunnels());
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_websocket_connections gauge")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_connections{node="a"} 3)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_connections{node="b"} 0)")) << text;
}

TEST(WebSocketExposition, UpgradesByResult) {
    const auto text = metrics::render(with_tunnels());
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_websocket_upgrades_total counter")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_upgrades_total{result="upgraded"} 5)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_upgrades_total{result="declined"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_upgrades_total{result="unavailable"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_upgrades_total{result="failed"} 4)")) << text;
}

TEST(WebSocketExposition, BytesByDirection) {
    const auto text = metrics::render(with_tunnels());
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_websocket_bytes_total counter")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_bytes_total{direction="client_to_node"} 1000)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_websocket_bytes_total{direction="node_to_client"} 2000)")) << text;
}
