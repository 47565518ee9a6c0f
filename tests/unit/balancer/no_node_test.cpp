// A node list can be empty (only [[upstream.dns]] names, none answering yet): every policy then picks nothing.
#include <gatehouse/balancer/balancer.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;

TEST(NoNode, EveryPolicyPicksNothing) {
    for (auto policy : {config::balance_policy::round_robin, config::balance_policy::ip_hash,
                        config::balance_policy::least_request}) {
        const auto b = balancer::make_balancer(policy, {});
        balancer::node_set none;
        EXPECT_FALSE(b->pick({none, 42}).has_value());
    }
}
