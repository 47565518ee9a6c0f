// least_request: power of two choices on in-flight requests.
#include <gatehouse/balancer/least_request.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace gatehouse::balancer;

// With two nodes, the one with fewer requests in flight always wins.
TEST(LeastRequest, PrefersIdleNode) {
    std::vector<node_entry> nodes{{"slow", 1}, {"idle", 1}};
    least_request lr(nodes);
    node_set none;
    const std::vector<std::uint32_t> in_flight{5, 0};
    for (int i = 0; i < 100; ++i) EXPECT_EQ(*lr.pick({none, 0, in_flight}), 1u);
}

// Excluded nodes are never chosen; one eligible node is chosen alone; none gives no pick.
TEST(LeastRequest, HonoursExclusions) {
    std::vector<node_entry> nodes{{"a", 1}, {"b", 1}, {"c", 1}};
    least_request lr(nodes);
    node_set excluded;
    excluded.set(0);
    excluded.set(2);
    const std::vector<std::uint32_t> in_flight{0, 9, 0};
    for (int i = 0; i < 50; ++i) EXPECT_EQ(*lr.pick({excluded, 0, in_flight}), 1u);
    excluded.set(1);
    EXPECT_FALSE(lr.pick({excluded, 0, in_flight}).has_value());
}

// Equal load spreads picks over every node.
TEST(LeastRequest, SpreadsEqualLoad) {
    std::vector<node_entry> nodes{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
    least_request lr(nodes);
    node_set none;
    const std::vector<std::uint32_t> in_flight{0, 0, 0, 0};
    std::vector<int> count(4, 0);
    for (int i = 0; i < 4000; ++i) ++count[*lr.pick({none, 0, in_flight})];
    for (int c : count) EXPECT_NEAR(c / 4000.0, 0.25, 0.05);
}
