// ip_hash: stickiness, weighted shares and the clients that move when a node goes down.
#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/balancer/ip_hash.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::balancer;

namespace {

std::vector<node_entry> nodes_named(std::size_t n, const std::vector<unsigned>& weights = {}) {
    static std::vector<std::string> names;
    names.clear();
    for (std::size_t i = 0; i < n; ++i) names.push_back("node" + std::to_string(i + 1));
    std::vector<node_entry> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back({names[i], weights.empty() ? 1u : weights[i]});
    return out;
}

std::uint64_t key_of(unsigned client) {
    config::ip_bytes a{};
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = static_cast<std::uint8_t>(client >> 16);
    a[14] = static_cast<std::uint8_t>(client >> 8);
    a[15] = static_cast<std::uint8_t>(client);
    return client_key(a);
}

}  // namespace

// The same client always reaches the same node.
TEST(IpHash, SameClientSameNode) {
    const auto nodes = nodes_named(4);
    ip_hash h(nodes);
    node_set none;
    for (unsigned c = 0; c < 1000; ++c) {
        const auto first = h.pick({none, key_of(c)});
        for (int i = 0; i < 3; ++i) EXPECT_EQ(h.pick({none, key_of(c)}), first);
    }
}

// When one of 4 nodes is excluded only its clients move (at most 1/N + 2%), and they move back.
TEST(IpHash, OnlyClientsOfLostNodeMove) {
    const auto nodes = nodes_named(4);
    ip_hash h(nodes);
    node_set none, without_2;
    without_2.set(2);
    std::size_t moved = 0;
    for (unsigned c = 0; c < 10000; ++c) {
        const auto before = *h.pick({none, key_of(c)});
        const auto during = *h.pick({without_2, key_of(c)});
        EXPECT_NE(during, 2u);
        if (before != during) {
            ++moved;
            EXPECT_EQ(before, 2u) << "a client of a healthy node moved";
        }
        EXPECT_EQ(*h.pick({none, key_of(c)}), before);
    }
    EXPECT_LE(moved / 10000.0, 0.25 + 0.02);
    EXPECT_GT(moved, 0u);
}

// Shares follow the weights within 2%.
TEST(IpHash, SharesFollowWeights) {
    const auto nodes = nodes_named(3, {1, 2, 1});
    ip_hash h(nodes);
    node_set none;
    std::map<std::size_t, int> count;
    for (unsigned c = 0; c < 20000; ++c) ++count[*h.pick({none, key_of(c)})];
    EXPECT_NEAR(count[0] / 20000.0, 0.25, 0.02);
    EXPECT_NEAR(count[1] / 20000.0, 0.50, 0.02);
    EXPECT_NEAR(count[2] / 20000.0, 0.25, 0.02);
}

// Placement depends on node names, not on their order in the file.
TEST(IpHash, PlacementFollowsNames) {
    std::vector<node_entry> ab{{"a", 1}, {"b", 1}}, ba{{"b", 1}, {"a", 1}};
    ip_hash h1(ab), h2(ba);
    for (unsigned c = 0; c < 200; ++c)
        EXPECT_EQ(ab[h1.home_of(key_of(c))].name, ba[h2.home_of(key_of(c))].name);
}

// Every node excluded: no pick.
TEST(IpHash, NoPickWhenAllExcluded) {
    const auto nodes = nodes_named(2);
    ip_hash h(nodes);
    node_set all;
    all.set(0);
    all.set(1);
    EXPECT_FALSE(h.pick({all, 42}).has_value());
}

// IPv6 clients in one /64 share a key; IPv4 neighbours in one /24 do not.
TEST(HashKey, KeysAreWholeV4AndV6Slash64) {
    const auto a = *config::parse_ip("2001:db8:1:2::1"), b = *config::parse_ip("2001:db8:1:2:ffff::9");
    const auto c = *config::parse_ip("2001:db8:1:3::1");
    EXPECT_EQ(client_key(a), client_key(b));
    EXPECT_NE(client_key(a), client_key(c));
    EXPECT_NE(client_key(*config::parse_ip("192.0.2.1")), client_key(*config::parse_ip("192.0.2.2")));
}
