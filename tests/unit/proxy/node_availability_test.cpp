// Which nodes may take a request: active health, passive ejection, operator decisions, and the panic rule.
#include <gatehouse/config/load.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/proxy/node_availability.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace gatehouse;

namespace {

/// Three nodes, all up (as if their active checks had passed), or with `checks = false` active checks off.
model::snapshot_ptr three_nodes(const model::operator_state& ops = {}, bool checks = true) {
    auto cfg = std::make_shared<const config::config>(config::parse_config(
        std::string(checks ? "" : "[health_check]\nenabled = false\n") +
        "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n"
        "[[upstream.node]]\nname = \"node2\"\naddress = \"127.0.0.1:13002\"\n"
        "[[upstream.node]]\nname = \"node3\"\naddress = \"127.0.0.1:13003\"\n"));
    auto s = model::build_snapshot(cfg, 1, nullptr, ops);
    for (const auto& n : s->nodes) n.status->health.store(model::node_health::up);
    return s;
}

constexpr std::int64_t now = 1'000'000;

void eject(const model::node& n) { n.status->ejected_until_ms.store(now + 10'000); }
void set_health(const model::node& n, model::node_health h) { n.status->health.store(h); }

proxy::node_availability assess(const model::snapshot& s) {
    std::vector<double> factors(s.nodes.size());
    return proxy::assess_nodes(s, now, factors);
}

}  // namespace

// An ejected node is left out while another node can take the request.
TEST(NodeAvailability, EjectedNodeIsLeftOutWhileOthersAreReady) {
    const auto s = three_nodes();
    eject(s->nodes[0]);
    const auto a = assess(*s);
    EXPECT_TRUE(a.any_ready);
    EXPECT_FALSE(a.ejection_ignored);
    EXPECT_TRUE(a.excluded.test(0));
    EXPECT_FALSE(a.excluded.test(1));
    EXPECT_FALSE(a.excluded.test(2));
}

// When failed requests have ejected every node that the active checks call up, those nodes take requests
// anyway; a node that is down stays out.
TEST(NodeAvailability, EveryUpNodeEjectedMeansEjectionIsIgnored) {
    const auto s = three_nodes();
    eject(s->nodes[0]);
    eject(s->nodes[1]);
    set_health(s->nodes[2], model::node_health::down);
    const auto a = assess(*s);
    EXPECT_TRUE(a.any_ready);
    EXPECT_TRUE(a.ejection_ignored);
    EXPECT_FALSE(a.all_starting);
    EXPECT_FALSE(a.excluded.test(0));
    EXPECT_FALSE(a.excluded.test(1));
    EXPECT_TRUE(a.excluded.test(2)) << "a node the active checks call down stays out";
}

// Ejection is not ignored for nodes the operator took out (drained, disabled) nor when nodes are down: then no
// node is ready.
TEST(NodeAvailability, OperatorDecisionsAndDownNodesAreNeverOverridden) {
    model::operator_state ops;
    ops.nodes = {{"node1", model::node_admin::draining}};
    const auto s = three_nodes(ops);
    eject(s->nodes[0]);
    set_health(s->nodes[1], model::node_health::down);
    set_health(s->nodes[2], model::node_health::down);
    const auto a = assess(*s);
    EXPECT_FALSE(a.any_ready);
    EXPECT_FALSE(a.ejection_ignored);
    EXPECT_EQ(a.excluded.count(), 3u);
}

// Without active checks every node counts as up, so "up" says nothing: ejection then keeps its effect even when
// it leaves no node (a dead node is not tried on every request).
TEST(NodeAvailability, EjectionIsKeptWhenActiveChecksAreOff) {
    const auto s = three_nodes({}, false);
    for (const auto& n : s->nodes) eject(n);
    const auto a = assess(*s);
    EXPECT_FALSE(a.any_ready);
    EXPECT_FALSE(a.ejection_ignored);
    EXPECT_EQ(a.excluded.count(), 3u);
}

// A node that is both ejected and down (or starting) is not brought back by the rule.
TEST(NodeAvailability, EjectedNodeThatIsAlsoDownStaysOut) {
    const auto s = three_nodes();
    eject(s->nodes[0]);
    set_health(s->nodes[0], model::node_health::down);
    eject(s->nodes[1]);
    set_health(s->nodes[1], model::node_health::starting);
    eject(s->nodes[2]);
    const auto a = assess(*s);
    EXPECT_TRUE(a.ejection_ignored);
    EXPECT_TRUE(a.excluded.test(0));
    EXPECT_TRUE(a.excluded.test(1));
    EXPECT_FALSE(a.excluded.test(2));
}

// While another node is up, a starting node takes nothing.
TEST(NodeAvailability, StartingNodeWaitsWhileAnotherIsUp) {
    const auto s = three_nodes();
    set_health(s->nodes[1], model::node_health::starting);
    set_health(s->nodes[2], model::node_health::down);
    const auto a = assess(*s);
    EXPECT_TRUE(a.any_ready);
    EXPECT_FALSE(a.to_starting);
    EXPECT_FALSE(a.excluded.test(0));
    EXPECT_TRUE(a.excluded.test(1));
    EXPECT_TRUE(a.excluded.test(2));
}

// With no node up, the nodes that say they are starting take the request (NocoBase answers its own progress);
// an ejected or drained starting node does not, nor does a down one.
TEST(NodeAvailability, NoNodeUpSendsToStartingNodes) {
    model::operator_state ops;
    ops.nodes = {{"node1", model::node_admin::draining}};
    const auto s = three_nodes(ops);
    set_health(s->nodes[0], model::node_health::starting);
    set_health(s->nodes[1], model::node_health::starting);
    set_health(s->nodes[2], model::node_health::down);
    auto a = assess(*s);
    EXPECT_TRUE(a.any_ready);
    EXPECT_TRUE(a.to_starting);
    EXPECT_FALSE(a.all_starting);
    EXPECT_TRUE(a.excluded.test(0)) << "drained by the operator";
    EXPECT_FALSE(a.excluded.test(1));
    EXPECT_TRUE(a.excluded.test(2)) << "down";

    eject(s->nodes[1]);
    a = assess(*s);
    EXPECT_FALSE(a.any_ready) << "an ejected starting node failed real requests: not tried";
    EXPECT_FALSE(a.to_starting);
}
