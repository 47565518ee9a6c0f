// Smooth weighted round-robin.
#include <gatehouse/balancer/round_robin.hpp>

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace gatehouse::balancer;

namespace {
std::vector<node_entry> weighted(const std::vector<unsigned>& weights) {
    std::vector<node_entry> out;
    for (unsigned w : weights) out.push_back({"n", w});
    return out;
}
}  // namespace

// Equal weights visit the nodes in turn.
TEST(RoundRobin, EqualWeightsTakeTurns) {
    const std::vector<unsigned> w{1, 1, 1};
    round_robin rr(weighted(w));
    node_set none;
    std::vector<std::size_t> order;
    for (int i = 0; i < 6; ++i) order.push_back(*rr.pick({none}));
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

// Weights 5,1,1 interleave (a a b a c a a) instead of running one node five times in a row.
TEST(RoundRobin, WeightsAreSmooth) {
    const std::vector<unsigned> w{5, 1, 1};
    round_robin rr(weighted(w));
    node_set none;
    std::vector<std::size_t> order;
    for (int i = 0; i < 7; ++i) order.push_back(*rr.pick({none}));
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 0, 1, 0, 2, 0, 0}));
}

// Over 10,000 picks each node's share is within 2% of its weight's share.
TEST(RoundRobin, SharesFollowWeights) {
    const std::vector<unsigned> w{3, 2, 1, 4};
    round_robin rr(weighted(w));
    node_set none;
    std::map<std::size_t, int> count;
    for (int i = 0; i < 10000; ++i) ++count[*rr.pick({none})];
    for (std::size_t n = 0; n < w.size(); ++n) EXPECT_NEAR(count[n] / 10000.0, w[n] / 10.0, 0.02);
}

// Excluded nodes are skipped; when every node is excluded there is no pick.
TEST(RoundRobin, SkipsExcludedNodes) {
    const std::vector<unsigned> w{1, 1, 1};
    round_robin rr(weighted(w));
    node_set excluded;
    excluded.set(1);
    for (int i = 0; i < 10; ++i) EXPECT_NE(*rr.pick({excluded}), 1u);
    excluded.set(0);
    excluded.set(2);
    EXPECT_FALSE(rr.pick({excluded}).has_value());
}
