// timeouts.websocket_idle: its default, its units, and 0 refused (a tunnel must end some time); upstream.drain_websockets_after.
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using namespace gatehouse::config;
using namespace std::chrono_literals;

namespace {

constexpr const char* one_node = R"([[upstream.node]]
name = "node1"
address = "127.0.0.1:13001"
)";

}  // namespace

TEST(WebSocketIdleKey, DefaultsToFifteenMinutes) {
    EXPECT_EQ(parse_config(one_node).timeouts.websocket_idle, 15min);
}

TEST(WebSocketIdleKey, IsReadFromTimeouts) {
    const auto c = parse_config(std::string(one_node) + "[timeouts]\nwebsocket_idle = \"10m\"\n");
    EXPECT_EQ(c.timeouts.websocket_idle, 10min);
    EXPECT_EQ(parse_config(std::string(one_node) + "[timeouts]\nwebsocket_idle = \"300ms\"\n").timeouts.websocket_idle,
              300ms);
}

TEST(WebSocketIdleKey, ZeroIsAProblem) {
    try {
        parse_config(std::string(one_node) + "[timeouts]\nwebsocket_idle = \"0s\"\n", "test.toml");
        ADD_FAILURE() << "websocket_idle = 0 was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.problems().size(), 1u) << e.what();
        EXPECT_EQ(e.problems().front().key, "timeouts.websocket_idle");
        EXPECT_EQ(e.problems().front().message, "must be greater than 0");
    }
}

TEST(DrainWebSocketsAfterKey, OffByDefault) {
    EXPECT_EQ(parse_config(one_node).upstream.drain_websockets_after, 0ms);
}

TEST(DrainWebSocketsAfterKey, IsReadFromUpstream) {
    const auto c = parse_config("[upstream]\ndrain_websockets_after = \"2m\"\n"
                                "[[upstream.node]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n");
    EXPECT_EQ(c.upstream.drain_websockets_after, 2min);
}

TEST(DrainWebSocketsAfterKey, NotADurationIsAProblemNamingTheKey) {
    try {
        parse_config("[upstream]\ndrain_websockets_after = \"soon\"\n"
                     "[[upstream.node]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n",
                     "test.toml");
        ADD_FAILURE() << "drain_websockets_after = \"soon\" was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.problems().size(), 1u) << e.what();
        EXPECT_EQ(e.problems().front().key, "upstream.drain_websockets_after");
    }
}
