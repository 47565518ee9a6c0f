// How requests are spread over the nodes: round_robin shares and weights, ip_hash stickiness and consistency,
// trusted proxies for the ip_hash key, least_request against a slow node, and slow start.
#include "harness.hpp"

#include <cstdint>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace gatehouse::test {
namespace {

class Balancing : public GatehouseTest {
protected:
    struct weighted_node {
        std::string name;
        std::string address;
        unsigned weight = 1;
    };

    /// Starts gatehouse (one worker, health checks off) on a configuration with node weights, which
    /// gatehouse_options cannot express.
    gatehouse_process& start_weighted(const std::vector<weighted_node>& nodes) {
        const auto port = reserve_port();
        std::string t = "[proxy]\nlisten = [\"127.0.0.1:" + std::to_string(port) + "\"]\nworkers = 1\n\n[upstream]\n";
        for (const auto& n : nodes)
            t += "\n[[upstream.node]]\nname = \"" + n.name + "\"\naddress = \"" + n.address +
                 "\"\nweight = " + std::to_string(n.weight) + "\n";
        t += "\n[health_check]\nenabled = false\n\n[admin]\nlisten = \"\"\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(t, port));
        return *gatehouses_.back();
    }
};

using clock = std::chrono::steady_clock;
using counts = std::map<std::string, std::size_t>;

/// Active checks fast enough for a test: down after 2 failures, up after 2 passes, every 100 or 200 ms.
std::vector<std::pair<std::string, std::string>> fast_checks(const char* interval = "\"200ms\"") {
    return {{"interval", interval}, {"timeout", "\"300ms\""}, {"rise", "2"}, {"fall", "2"}, {"jitter", "\"0ms\""}};
}

/// `n` GETs of `/` spread in turn over `connections` keep-alive connections; counts the X-Node of each answer.
/// Every answer must be 200 (a failure is recorded and counted under "<status N>").
counts spread(std::uint16_t port, std::size_t n, std::size_t connections) {
    std::vector<std::unique_ptr<client_connection>> conns;
    for (std::size_t i = 0; i < connections; ++i) conns.push_back(std::make_unique<client_connection>(port));
    counts seen;
    for (std::size_t i = 0; i < n; ++i) {
        auto& c = *conns[i % connections];
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        if (r.status != 200) {
            ADD_FAILURE() << "request " << i << ": " << r.raw;
            ++seen["<status " + std::to_string(r.status) + ">"];
            continue;
        }
        ++seen[r.header("X-Node")];
    }
    return seen;
}

std::string describe(const counts& c) {
    std::string s;
    for (const auto& [name, n] : c) s += (s.empty() ? "" : ", ") + name + "=" + std::to_string(n);
    return s;
}

/// The i-th of many distinct client addresses 10.a.b.c (an odd multiplier permutes the 24 low bits).
std::string client_address(std::uint32_t i) {
    const std::uint32_t x = (i * 2654435761u) & 0xffffffu;
    return "10." + std::to_string(x >> 16) + "." + std::to_string((x >> 8) & 255) + "." + std::to_string(x & 255);
}

/// Asks once as each client address (X-Forwarded-For), over a few keep-alive connections; the X-Node of each.
std::vector<std::string> node_per_client(std::uint16_t port, std::uint32_t clients) {
    constexpr std::size_t connections = 4;
    std::vector<std::unique_ptr<client_connection>> conns;
    for (std::size_t i = 0; i < connections; ++i) conns.push_back(std::make_unique<client_connection>(port));
    std::vector<std::string> nodes(clients);
    for (std::uint32_t i = 0; i < clients; ++i) {
        auto& c = *conns[i % connections];
        c.send(get_request("/", "X-Forwarded-For: " + client_address(i) + "\r\n"));
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 200u) << "client " << client_address(i) << ": " << r.raw;
        nodes[i] = r.header("X-Node");
    }
    return nodes;
}

// Three nodes of equal weight each get a third of 3,000 requests (within 2 percentage points).
TEST_F(Balancing, RoundRobinGivesEqualWeightsEqualShares) {
    add_upstream("n1");
    add_upstream("n2");
    add_upstream("n3");
    auto& gh = start_gatehouse({.workers = 1});
    constexpr std::size_t total = 3000;
    const auto seen = spread(gh.port(), total, 3);
    std::cout << "round_robin 1:1:1 over " << total << " requests: " << describe(seen) << "\n";
    ASSERT_EQ(seen.size(), 3u) << describe(seen);
    for (const auto& [name, n] : seen) {
        const double share = static_cast<double>(n) / total;
        EXPECT_NEAR(share, 1.0 / 3, 0.02) << name << ": " << describe(seen);
    }
}

// Weights 3 and 1 give 75% and 25% of 2,000 requests (within 2 percentage points).
TEST_F(Balancing, RoundRobinFollowsNodeWeights) {
    auto& heavy = add_upstream("heavy");
    auto& light = add_upstream("light");
    auto& gh = start_weighted({{"heavy", heavy.address(), 3}, {"light", light.address(), 1}});
    constexpr std::size_t total = 2000;
    auto seen = spread(gh.port(), total, 3);
    std::cout << "round_robin 3:1 over " << total << " requests: " << describe(seen) << "\n";
    EXPECT_NEAR(static_cast<double>(seen["heavy"]) / total, 0.75, 0.02) << describe(seen);
    EXPECT_NEAR(static_cast<double>(seen["light"]) / total, 0.25, 0.02) << describe(seen);
}

// ip_hash on the X-Forwarded-For of a trusted proxy: 1,000 clients keep their node; when one of 4 nodes goes
// down only its clients move (about a quarter), and they all return to their node when it is back up.
TEST_F(Balancing, IpHashKeepsClientsOnTheirNodeAndMovesOnlyThoseOfADownNode) {
    add_upstream("n1");
    auto& n2 = add_upstream("n2");
    add_upstream("n3");
    add_upstream("n4");
    auto& gh = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"},
                                .upstream = {{"balance", "\"ip_hash\""}},
                                .health_check = fast_checks()});
    constexpr std::uint32_t clients = 1000;

    const auto first = node_per_client(gh.port(), clients);
    const auto second = node_per_client(gh.port(), clients);
    counts per_node;
    for (std::uint32_t i = 0; i < clients; ++i) {
        EXPECT_EQ(second[i], first[i]) << "client " << client_address(i) << " changed node while every node was up";
        ++per_node[first[i]];
    }
    std::cout << "ip_hash clients per node: " << describe(per_node) << "\n";
    ASSERT_EQ(per_node.size(), 4u) << "every node gets clients: " << describe(per_node);
    for (const auto& [name, n] : per_node)
        EXPECT_NEAR(static_cast<double>(n) / clients, 0.25, 0.05) << name << ": " << describe(per_node);
    if (HasFailure()) return;

    n2.set_health(health_mode::error500);
    ASSERT_TRUE(gh.wait_for_log("n2 down:", 5s)) << "n2 failing its checks was not taken down";
    const auto during = node_per_client(gh.port(), clients);
    std::size_t moved = 0;
    for (std::uint32_t i = 0; i < clients; ++i) {
        if (during[i] == first[i]) continue;
        ++moved;
        EXPECT_EQ(first[i], "n2") << "client " << client_address(i) << " moved from " << first[i] << " to "
                                  << during[i] << " though only n2 is down";
    }
    for (std::uint32_t i = 0; i < clients; ++i)
        EXPECT_NE(during[i], "n2") << "client " << client_address(i) << " still reaches the down node";
    const double fraction = static_cast<double>(moved) / clients;
    std::cout << "ip_hash: " << moved << " of " << clients << " clients moved when 1 of 4 nodes went down ("
              << fraction * 100 << "%; n2 had " << per_node["n2"] << ")\n";
    EXPECT_LE(fraction, 0.25 + 0.02);
    EXPECT_EQ(moved, per_node["n2"]) << "every client of n2, and only those, moved";

    n2.set_health(health_mode::ok);
    ASSERT_TRUE(gh.wait_for_log("n2 up: 2 consecutive passes", 5s)) << "n2 did not come back up";
    const auto after = node_per_client(gh.port(), clients);
    std::size_t not_back = 0;
    for (std::uint32_t i = 0; i < clients; ++i) not_back += after[i] != first[i];
    EXPECT_EQ(not_back, 0u) << "clients not back on their original node once n2 is up";
}

// Without trusted proxies, X-Forwarded-For is not believed: 90 different values from one peer address, over
// three connections, all reach the node of that peer.
TEST_F(Balancing, IpHashIgnoresForwardedForFromUntrustedPeer) {
    for (const char* name : {"n1", "n2", "n3", "n4"}) add_upstream(name);
    auto& gh = start_gatehouse({.upstream = {{"balance", "\"ip_hash\""}}});
    counts seen;
    for (int conn = 0; conn < 3; ++conn) {
        client_connection c(gh.port());
        for (std::uint32_t i = 0; i < 30; ++i) {
            c.send(get_request("/", "X-Forwarded-For: " + client_address(conn * 30 + i) + "\r\n"));
            const auto r = c.read_response();
            ASSERT_EQ(r.status, 200u) << r.raw;
            ++seen[r.header("X-Node")];
        }
    }
    EXPECT_EQ(seen.size(), 1u) << "an untrusted peer's X-Forwarded-For picked the node: " << describe(seen);
}

// ip_hash behind a trusted proxy joins every X-Forwarded-For line: a client line written before the proxy's own
// does not choose the node; a chain gatehouse cannot read hashes like its peer.
TEST_F(Balancing, IpHashUsesTheResolvedClientOfAllForwardedForLines) {
    for (const char* name : {"n1", "n2", "n3", "n4"}) add_upstream(name);
    auto& gh = start_gatehouse({.trusted_proxies = {"127.0.0.0/8"}, .upstream = {{"balance", "\"ip_hash\""}}});
    client_connection c(gh.port());
    const auto node_for = [&](const std::string& extra) {
        c.send(get_request("/", extra));
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 200u) << r.raw;
        return r.header("X-Node");
    };
    counts spread_over;
    for (std::uint32_t i = 0; i < 40; ++i) {
        const auto own = node_for("X-Forwarded-For: " + client_address(i) + "\r\n");
        ++spread_over[own];
        EXPECT_EQ(node_for("X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: " + client_address(i) + "\r\n"), own)
            << "client " << client_address(i);
        EXPECT_EQ(node_for("X-Forwarded-For: " + client_address(i) + ":5555\r\n"), own) << "client " << client_address(i);
    }
    EXPECT_GT(spread_over.size(), 1u) << describe(spread_over);
    const auto peer_node = node_for("");
    for (const char* chain : {"unknown", "10.9.9.9, garbage", "1.2.3.4:99999"})
        EXPECT_EQ(node_for(std::string("X-Forwarded-For: ") + chain + "\r\n"), peer_node) << chain;
}

// least_request sends most requests to an idle node: with one node answering after 300 ms and one at once,
// 8 concurrent clients for 2 s get more than 3x as many answers from the quick node.
TEST_F(Balancing, LeastRequestFavoursTheLessBusyNode) {
    add_upstream(upstream_options{.name = "slow", .delay_all = 300ms});
    add_upstream("quick");
    auto& gh = start_gatehouse({.workers = 1, .upstream = {{"balance", "\"least_request\""}}});

    std::mutex m;
    counts seen;
    std::size_t failures = 0;
    std::string first_failure;
    const auto deadline = clock::now() + 2s;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            counts mine;
            std::string failure;
            try {
                client_connection c(gh.port(), 5s);
                for (int i = 0; i < 100000 && clock::now() < deadline; ++i) {
                    c.send(get_request("/?t=" + std::to_string(t) + "&i=" + std::to_string(i)));
                    const auto r = c.read_response();
                    if (r.status != 200) {
                        failure = r.raw;
                        break;
                    }
                    ++mine[r.header("X-Node")];
                }
            } catch (const std::exception& e) {
                failure = e.what();
            }
            std::lock_guard lock(m);
            for (const auto& [k, v] : mine) seen[k] += v;
            if (!failure.empty() && failures++ == 0) first_failure = failure;
        });
    }
    for (auto& th : threads) th.join();
    std::cout << "least_request over 2 s, 8 clients: " << describe(seen) << "\n";
    EXPECT_EQ(failures, 0u) << first_failure;
    EXPECT_GT(seen["quick"], 3 * seen["slow"]) << describe(seen);
    EXPECT_GT(seen["slow"], 0u) << "the slow node still takes some requests when it is idle: " << describe(seen);
}

// Slow start: a node back up after being down gets a small share at first (10% of its weight, rising), and
// its full half once slow_start (8 s) has passed. The early sample ends after 200 requests or 2 s, whichever comes
// first: a fast build sends 200 in a few tens of ms (b's factor still ~10%), a sanitizer build on a busy machine
// needs up to the whole 2 s (~40 ms a request still gives 50; the factor rises to 32.5%, so b's share stays under
// 25% even at the end of the window).
TEST_F(Balancing, SlowStartRampsUpANodeThatComesBack) {
    add_upstream("a");
    auto& b = add_upstream("b");
    auto& gh = start_gatehouse({.upstream = {{"slow_start", "\"8s\""}}, .health_check = fast_checks("\"100ms\"")});

    b.set_health(health_mode::error500);
    ASSERT_TRUE(gh.wait_for_log("b down:", 5s));
    b.set_health(health_mode::ok);
    ASSERT_TRUE(gh.wait_for_log("b up: 2 consecutive passes", 5s));
    const auto up_seen = clock::now();

    counts early;
    {
        client_connection c(gh.port());
        for (int i = 0; i < 200 && clock::now() < up_seen + 2s; ++i) {
            c.send(get_request("/?early=" + std::to_string(i)));
            const auto r = c.read_response();
            ASSERT_EQ(r.status, 200u) << r.raw;
            ++early[r.header("X-Node")];
        }
    }
    const std::size_t early_total = early["a"] + early["b"];
    const double early_share = early_total ? static_cast<double>(early["b"]) / early_total : 0;
    std::cout << "slow start, first " << early_total << " requests: " << describe(early) << " (b "
              << early_share * 100 << "%)\n";
    ASSERT_GE(early_total, 50u) << "too few requests to judge a share";
    EXPECT_LT(early_share, 0.30) << describe(early);
    EXPECT_GT(early_share, 0.03) << "a node in slow start still gets some traffic: " << describe(early);

    std::this_thread::sleep_until(up_seen + 8200ms);  // the scenario itself: slow_start has passed
    const auto later = spread(gh.port(), 1000, 2);
    const double later_share = static_cast<double>(later.count("b") ? later.at("b") : 0) / 1000;
    std::cout << "slow start, after 8.2 s: " << describe(later) << " (b " << later_share * 100 << "%)\n";
    EXPECT_GE(later_share, 0.40) << describe(later);
    EXPECT_LE(later_share, 0.60) << describe(later);
}

}  // namespace
}  // namespace gatehouse::test
