// Nodes from DNS answers: names watched, nodes expanded and compared, the lookup schedule after failures.
#include <gatehouse/config/load.hpp>
#include <gatehouse/discovery/node_set.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;
using namespace std::chrono_literals;

namespace {

config::upstream_config upstream_of(const std::string& text) { return config::parse_config(text, "test.toml").upstream; }

const std::string two_kinds = R"([[upstream.node]]
name = "fixed"
address = "127.0.0.1:13000"
[[upstream.node]]
name = "named"
address = "localhost:13001"
[[upstream.dns]]
name = "nocobase-headless.default.svc.cluster.local"
port = 13000
refresh = "2s"
weight = 3
)";

std::vector<std::string> names_of(const std::vector<config::node_config>& nodes) {
    std::vector<std::string> out;
    for (const auto& n : nodes) out.push_back(n.name);
    return out;
}

}  // namespace

// [[upstream.dns]] names with their refresh, static host names with [resolver]'s, IP literals not at all.
TEST(NodeSet, NamesToWatch) {
    const auto names = discovery::names_to_watch(upstream_of(two_kinds), 7s);
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0].name, "nocobase-headless.default.svc.cluster.local");
    EXPECT_EQ(names[0].refresh, 2s);
    EXPECT_TRUE(names[0].discovers_nodes);
    EXPECT_EQ(names[1].name, "localhost");
    EXPECT_EQ(names[1].refresh, 7s);
    EXPECT_FALSE(names[1].discovers_nodes);
}

// Without answers the static nodes stay as loaded and the DNS name gives no node.
TEST(NodeSet, NoAnswerGivesTheStaticNodes) {
    const auto upstream = upstream_of(two_kinds);
    const auto nodes = discovery::expand_nodes(upstream, {});
    EXPECT_EQ(names_of(nodes), (std::vector<std::string>{"fixed", "named"}));
    EXPECT_TRUE(discovery::compare(upstream.nodes, nodes).empty());
}

// One node per address, named "<name>@<address>", with the entry's port, weight and the name as its DNS origin;
// a static node's host takes its first IPv4 address.
TEST(NodeSet, AnswersBecomeNodes) {
    const auto upstream = upstream_of(two_kinds);
    const std::string dns = "nocobase-headless.default.svc.cluster.local";
    const discovery::answers known{{dns, {"10.0.0.7", "fd00::8"}}, {"localhost", {"::1", "127.0.0.9"}}};
    const auto nodes = discovery::expand_nodes(upstream, known);
    ASSERT_EQ(names_of(nodes), (std::vector<std::string>{"fixed", "named", dns + "@10.0.0.7", dns + "@fd00::8"}));
    EXPECT_EQ(nodes[1].address.ip, "127.0.0.9");
    EXPECT_EQ(nodes[1].address.text, "localhost:13001");  // the Host of its health checks stays
    EXPECT_EQ(nodes[2].address.text, "10.0.0.7:13000");
    EXPECT_EQ(nodes[3].address.text, "[fd00::8]:13000");
    EXPECT_TRUE(nodes[3].address.is_v6);
    EXPECT_EQ(nodes[2].weight, 3u);
    EXPECT_EQ(nodes[2].dns_name, dns);
    EXPECT_EQ(nodes[2].host, dns);
    EXPECT_TRUE(nodes[0].dns_name.empty());
}

// A DNS name is unanswered until its first answer has given it a node.
TEST(NodeSet, UnansweredDnsNames) {
    auto upstream = upstream_of(two_kinds);
    const std::string dns = "nocobase-headless.default.svc.cluster.local";
    EXPECT_EQ(discovery::unanswered_dns_names(upstream), (std::vector<std::string>{dns}));
    upstream.nodes = discovery::expand_nodes(upstream, {{dns, {"10.0.0.7"}}});
    EXPECT_TRUE(discovery::unanswered_dns_names(upstream).empty());
}

// Added, removed and re-addressed nodes are told apart by name and address.
TEST(NodeSet, CompareFindsEveryChange) {
    const auto upstream = upstream_of(two_kinds);
    const std::string dns = "nocobase-headless.default.svc.cluster.local";
    const auto before = discovery::expand_nodes(upstream, {{dns, {"10.0.0.1", "10.0.0.2"}}, {"localhost", {"127.0.0.1"}}});
    const auto after = discovery::expand_nodes(upstream, {{dns, {"10.0.0.2", "10.0.0.3"}}, {"localhost", {"127.0.0.5"}}});
    const auto c = discovery::compare(before, after);
    EXPECT_EQ(c.added, (std::vector<std::string>{dns + "@10.0.0.3 (10.0.0.3)"}));
    EXPECT_EQ(c.removed, (std::vector<std::string>{dns + "@10.0.0.1 (10.0.0.1)"}));
    EXPECT_EQ(c.readdressed, (std::vector<std::string>{"named: 127.0.0.1 -> 127.0.0.5"}));
    EXPECT_TRUE(discovery::compare(after, after).empty());
}

// The order of an answer changes nothing.
TEST(NodeSet, NormalizedSortsAndDeduplicates) {
    EXPECT_EQ(discovery::normalized({"10.0.0.2", "10.0.0.1", "10.0.0.2"}),
              (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
}

// After failures the next lookup comes sooner (1 s, 2 s, 4 s...) but never later than refresh.
TEST(NodeSet, RetryBacksOffUpToRefresh) {
    EXPECT_EQ(discovery::next_lookup_in(5s, 0), 5s);
    EXPECT_EQ(discovery::next_lookup_in(5s, 1), 1s);
    EXPECT_EQ(discovery::next_lookup_in(5s, 2), 2s);
    EXPECT_EQ(discovery::next_lookup_in(5s, 3), 4s);
    EXPECT_EQ(discovery::next_lookup_in(5s, 4), 5s);
    EXPECT_EQ(discovery::next_lookup_in(5s, 1000), 5s);
}
