// Snapshots: operator decisions resolved for the data plane, statuses kept across rebuilds, the page filled in.
#include <gatehouse/config/load.hpp>
#include <gatehouse/model/snapshot.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;

namespace {

std::shared_ptr<const config::config> three_nodes(std::string extra = "") {
    return std::make_shared<const config::config>(config::parse_config(
        extra + "[health_check]\nenabled = false\n"
                "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n"
                "[[upstream.node]]\nname = \"node2\"\naddress = \"127.0.0.1:13002\"\n"
                "[[upstream.node]]\nname = \"node3\"\naddress = \"127.0.0.1:13003\"\n"));
}

TEST(Snapshot, DrainedAndDisabledNodesTakeNoNewRequests) {
    model::operator_state ops;
    ops.nodes = {{"node2", model::node_admin::draining}, {"node3", model::node_admin::disabled}};
    const auto s = model::build_snapshot(three_nodes(), 1, nullptr, ops);
    EXPECT_TRUE(s->nodes[0].takes_new_requests);
    EXPECT_FALSE(s->nodes[1].takes_new_requests);
    EXPECT_EQ(s->nodes[1].admin, model::node_admin::draining);
    EXPECT_FALSE(s->nodes[2].takes_new_requests);
}

TEST(Snapshot, PinLeavesOnlyThePinnedNode) {
    model::operator_state ops;
    ops.pinned_node = "node2";
    const auto s = model::build_snapshot(three_nodes(), 1, nullptr, ops);
    EXPECT_FALSE(s->nodes[0].takes_new_requests);
    EXPECT_TRUE(s->nodes[1].takes_new_requests);
    EXPECT_FALSE(s->nodes[2].takes_new_requests);
    ASSERT_TRUE(s->pinned.has_value());
    EXPECT_EQ(*s->pinned, 1u);
}

TEST(Snapshot, MaintenanceResolvesVerifyNodeAndFillsThePage) {
    auto cfg = config::parse_config("[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n"
                                    "[[upstream.node]]\nname = \"node2\"\naddress = \"127.0.0.1:13002\"\n");
    cfg.maintenance.page_html = "<h1>{{reason}}</h1><p>{{reason}}</p>";
    model::operator_state ops;
    ops.maintenance = {true, "upgrade <1.7> & more", 1, "node2"};
    const auto s = model::build_snapshot(std::make_shared<const config::config>(cfg), 1, nullptr, ops);
    EXPECT_TRUE(s->maintenance.enabled);
    EXPECT_EQ(s->maintenance.message, "upgrade <1.7> & more");
    EXPECT_EQ(s->maintenance.html_page,
              "<h1>upgrade &lt;1.7&gt; &amp; more</h1><p>upgrade &lt;1.7&gt; &amp; more</p>");
    ASSERT_TRUE(s->maintenance.verify_node.has_value());
    EXPECT_EQ(*s->maintenance.verify_node, 1u);
    EXPECT_EQ(s->starting_html_page, "<h1>The application is starting</h1><p>The application is starting</p>");
    ops.maintenance = {};
    const auto off = model::build_snapshot(std::make_shared<const config::config>(cfg), 2, s.get(), ops);
    EXPECT_FALSE(off->maintenance.enabled);
    EXPECT_FALSE(off->maintenance.verify_node.has_value());
}

TEST(Snapshot, NodesThatStayKeepTheirStatusObject) {
    const auto first = model::build_snapshot(three_nodes(), 1);
    const auto second = model::build_snapshot(three_nodes("[upstream]\nbalance = \"ip_hash\"\n"), 2, first.get());
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(first->nodes[i].status, second->nodes[i].status);
}

}  // namespace
