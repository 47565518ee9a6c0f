// The idle pool's sizing policy: the recent peak of connections in use, the limit it gives, gradual trimming, and
// the limits a configuration sets.
#include <gatehouse/upstream/pool_sizing.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;
using upstream::recent_peak;

// The peak covers at least the last span: a value seen one span ago still counts, one seen two spans ago does not.
TEST(RecentPeak, RemembersTheLastSpanAndForgetsOlderValues) {
    recent_peak p(1000);
    EXPECT_EQ(p.peak(0), 0u);
    p.observe(5, 10);
    p.observe(3, 20);
    EXPECT_EQ(p.peak(20), 5u);
    EXPECT_EQ(p.peak(1009), 5u) << "one span on: the 5 moved to the previous bucket";
    EXPECT_EQ(p.peak(1500), 5u) << "the previous bucket still counts";
    p.observe(2, 1600);
    EXPECT_EQ(p.peak(1700), 5u);
    EXPECT_EQ(p.peak(2100), 2u) << "two spans after the 5: only the 2, seen within the last span, is left";
    EXPECT_EQ(p.peak(4000), 0u) << "nothing seen for two spans";
}

// A long quiet time (no call at all) empties both buckets at once.
TEST(RecentPeak, LongSilenceForgetsEverything) {
    recent_peak p(100);
    p.observe(40, 0);
    EXPECT_EQ(p.peak(150), 40u);
    EXPECT_EQ(p.peak(10'000), 0u);
    p.observe(7, 10'001);
    EXPECT_EQ(p.peak(10'002), 7u);
}

// A new higher value shows at once; the span can change (a reload) and a non-positive one is taken as 1 ms.
TEST(RecentPeak, RisesAtOnceAndAcceptsANewSpan) {
    recent_peak p(0);
    p.observe(1, 0);
    p.observe(9, 0);
    EXPECT_EQ(p.peak(0), 9u);
    p.set_span(5000);
    p.observe(3, 2);
    EXPECT_EQ(p.peak(4000), 9u);
}

// The limit is the recent peak, capped by upstream.keepalive.
TEST(PoolSizing, IdleLimitIsTheRecentPeakWithinTheCap) {
    EXPECT_EQ(upstream::idle_limit(300, upstream::no_cap), 300u);
    EXPECT_EQ(upstream::idle_limit(300, 32), 32u);
    EXPECT_EQ(upstream::idle_limit(0, 32), 0u) << "no recent demand: nothing kept";
    EXPECT_EQ(upstream::idle_limit(5, 0), 0u) << "keepalive = 0: no reuse";
}

// The tick closes a quarter of the surplus (at least one), never below the limit.
TEST(PoolSizing, SurplusClosesGradually) {
    EXPECT_EQ(upstream::surplus_to_close(10, 10), 0u);
    EXPECT_EQ(upstream::surplus_to_close(3, 10), 0u);
    EXPECT_EQ(upstream::surplus_to_close(11, 10), 1u);
    EXPECT_EQ(upstream::surplus_to_close(100, 0), 25u);
    std::size_t idle = 100, ticks = 0;
    while (idle > 20 && ticks < 100) idle -= upstream::surplus_to_close(idle, 20), ++ticks;
    EXPECT_EQ(idle, 20u);
    EXPECT_GT(ticks, 5u) << "over several ticks, not at once";
}

// No keepalive key: no cap per node; max_connections caps the worker; the demand span is half of upstream_idle.
TEST(PoolSizing, LimitsOfAConfiguration) {
    config::config c;
    c.limits.max_connections = 5000;
    c.timeouts.upstream_idle = std::chrono::seconds(3);
    auto l = upstream::pool_limits_of(c);
    EXPECT_EQ(l.per_node, upstream::no_cap);
    EXPECT_EQ(l.per_worker, 5000u);
    EXPECT_EQ(l.demand_span_ms, 1500);
    c.upstream.keepalive = 0;
    c.limits.max_connections = 0;
    l = upstream::pool_limits_of(c);
    EXPECT_EQ(l.per_node, 0u);
    EXPECT_EQ(l.per_worker, upstream::no_cap) << "max_connections = 0 is unlimited";
    c.upstream.keepalive = 64;
    EXPECT_EQ(upstream::pool_limits_of(c).per_node, 64u);
}
