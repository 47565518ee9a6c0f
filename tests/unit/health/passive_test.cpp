// Passive health: consecutive failed requests eject a node, for a time that doubles on repeat up to a cap.
#include <gatehouse/health/passive.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace gatehouse;
using namespace std::chrono_literals;

namespace {
config::health_check_config passive_config() {
    config::health_check_config c;
    c.max_fails = 3;
    c.fail_timeout = 10s;
    c.fail_timeout_max = 35s;
    return c;
}
/// A node that is up (node_status holds atomics, so it lives on the heap to be returned).
std::unique_ptr<model::node_status> up_node() {
    auto s = std::make_unique<model::node_status>();
    s->health.store(model::node_health::up);
    return s;
}
}  // namespace

// Fewer than max_fails failures in a row leave the node in; the max_fails-th ejects it for fail_timeout.
TEST(Passive, MaxFailsEjectsForFailTimeout) {
    const auto owner = up_node();
    auto& s = *owner;
    const auto cfg = passive_config();
    EXPECT_EQ(health::report_failure(s, cfg, 1000).count(), 0);
    EXPECT_EQ(health::report_failure(s, cfg, 1000).count(), 0);
    EXPECT_TRUE(s.takes_traffic(1000));
    EXPECT_EQ(health::report_failure(s, cfg, 1000), 10s);
    EXPECT_FALSE(s.takes_traffic(1000));
    EXPECT_FALSE(s.takes_traffic(10999));
    EXPECT_TRUE(s.takes_traffic(11000));
}

// A success in between starts the count again.
TEST(Passive, SuccessResetsCount) {
    const auto owner = up_node();
    auto& s = *owner;
    const auto cfg = passive_config();
    health::report_failure(s, cfg, 0);
    health::report_failure(s, cfg, 0);
    health::report_success(s);
    EXPECT_EQ(health::report_failure(s, cfg, 0).count(), 0);
    EXPECT_TRUE(s.takes_traffic(0));
}

// Each ejection in a row doubles the time, up to fail_timeout_max.
TEST(Passive, EjectionDoublesUpToCap) {
    const auto owner = up_node();
    auto& s = *owner;
    const auto cfg = passive_config();
    std::int64_t now = 0;
    std::vector<std::chrono::milliseconds> lengths;
    for (int round = 0; round < 4; ++round) {
        std::chrono::milliseconds length{};
        for (unsigned i = 0; i < cfg.max_fails; ++i) length = health::report_failure(s, cfg, now);
        lengths.push_back(length);
        now += length.count();  // the ejection ends; the node fails again at once
    }
    EXPECT_EQ(lengths, (std::vector<std::chrono::milliseconds>{10s, 20s, 35s, 35s}));
}

// Failures while already ejected do not extend the ejection.
TEST(Passive, FailuresWhileEjectedAreIgnored) {
    const auto owner = up_node();
    auto& s = *owner;
    const auto cfg = passive_config();
    for (int i = 0; i < 3; ++i) health::report_failure(s, cfg, 0);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(health::report_failure(s, cfg, 5000).count(), 0);
    EXPECT_TRUE(s.takes_traffic(10000));
}

// A node that says NocoBase is starting is never ejected; max_fails = 0 turns passive checks off.
TEST(Passive, StartingNodesAndZeroMaxFailsAreExempt) {
    model::node_status starting;
    starting.health.store(model::node_health::starting);
    const auto cfg = passive_config();
    for (int i = 0; i < 10; ++i) EXPECT_EQ(health::report_failure(starting, cfg, 0).count(), 0);
    const auto owner = up_node();
    auto& s = *owner;
    auto off = cfg;
    off.max_fails = 0;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(health::report_failure(s, off, 0).count(), 0);
    EXPECT_TRUE(s.takes_traffic(0));
}
