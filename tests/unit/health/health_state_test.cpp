// The rise/fall state machine of active health checks.
#include <gatehouse/health/health_state.hpp>

#include <gtest/gtest.h>

using namespace gatehouse::health;

// A node nobody has seen up takes traffic after its first passing check.
TEST(HealthState, FirstPassBringsUnknownNodeUp) {
    health_state s(2, 3);
    EXPECT_EQ(s.health(), node_health::unknown);
    EXPECT_TRUE(s.observe(check_result::pass));
    EXPECT_EQ(s.health(), node_health::up);
}

// `fall` consecutive failures take a node down; fewer do not.
TEST(HealthState, FallFailuresTakeNodeDown) {
    health_state s(2, 3);
    s.observe(check_result::pass);
    EXPECT_FALSE(s.observe(check_result::fail));
    EXPECT_FALSE(s.observe(check_result::fail));
    EXPECT_EQ(s.health(), node_health::up);
    EXPECT_TRUE(s.observe(check_result::fail));
    EXPECT_EQ(s.health(), node_health::down);
}

// A pass in between resets the failure count.
TEST(HealthState, PassResetsFailures) {
    health_state s(2, 3);
    s.observe(check_result::pass);
    s.observe(check_result::fail);
    s.observe(check_result::fail);
    s.observe(check_result::pass);
    s.observe(check_result::fail);
    s.observe(check_result::fail);
    EXPECT_EQ(s.health(), node_health::up);
}

// A down node needs `rise` consecutive passes to come back.
TEST(HealthState, RisePassesBringNodeBack) {
    health_state s(2, 1);
    s.observe(check_result::pass);
    s.observe(check_result::fail);
    ASSERT_EQ(s.health(), node_health::down);
    EXPECT_FALSE(s.observe(check_result::pass));
    EXPECT_EQ(s.health(), node_health::down);
    EXPECT_TRUE(s.observe(check_result::pass));
    EXPECT_EQ(s.health(), node_health::up);
}

// A node that has never passed goes down after `fall` failures.
TEST(HealthState, UnknownNodeGoesDownAfterFall) {
    health_state s(2, 2);
    EXPECT_FALSE(s.observe(check_result::fail));
    EXPECT_TRUE(s.observe(check_result::fail));
    EXPECT_EQ(s.health(), node_health::down);
}

// A "starting" answer is its own state at once, and counts neither as pass nor failure; the node that said it was
// starting comes up on its first pass (NocoBase's own "ready"), whatever `rise`.
TEST(HealthState, StartingIsNotFailureAndComesUpOnFirstPass) {
    health_state s(3, 3);
    s.observe(check_result::pass);
    s.observe(check_result::fail);
    EXPECT_TRUE(s.observe(check_result::starting));
    EXPECT_EQ(s.health(), node_health::starting);
    EXPECT_EQ(s.consecutive_failures(), 0u);
    EXPECT_TRUE(s.observe(check_result::pass));
    EXPECT_EQ(s.health(), node_health::up);
}

// A node that was down (refused, failed) still needs `rise` passes: only "starting" earns the quick way back.
TEST(HealthState, DownNodeStillNeedsRisePasses) {
    health_state s(3, 1);
    s.observe(check_result::pass);
    EXPECT_TRUE(s.observe(check_result::fail));
    EXPECT_EQ(s.health(), node_health::down);
    EXPECT_FALSE(s.observe(check_result::pass));
    EXPECT_FALSE(s.observe(check_result::pass));
    EXPECT_TRUE(s.observe(check_result::pass));
    EXPECT_EQ(s.health(), node_health::up);
}
