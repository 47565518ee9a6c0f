// Node connections under concurrency: the idle pool keeps what recent demand used, and lets its surplus go.
#include "admin_client.hpp"
#include "harness.hpp"

#include <memory>

namespace gatehouse::test {
namespace {

class NodePool : public GatehouseTest {};

using clients = std::vector<std::unique_ptr<client_connection>>;

clients open_clients(std::uint16_t port, std::size_t n) {
    clients out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::make_unique<client_connection>(port));
    return out;
}

/// Every client sends one request at once, then every answer is read: up to `c.size()` exchanges overlap.
void one_round(clients& c, int round) {
    for (auto& client : c) client->send(get_request("/?round=" + std::to_string(round)));
    for (auto& client : c) {
        const auto r = client->read_response();
        ASSERT_EQ(r.status, 200u) << "round " << round << ": " << r.raw;
    }
}

/// The value of the sample `series` (name and labels) in a scrape, -1 when absent.
double metric(const gatehouse_process& gh, const std::string& series) {
    const auto text = admin_call(gh, "GET", "/metrics").body;
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + series.size() + 2);
}

double idle_closed(const gatehouse_process& gh, const char* reason) {
    return metric(gh, std::string("gatehouse_upstream_idle_closed_total{reason=\"") + reason + "\"}");
}

// 200 clients send at once, 10 times; a slow node (100 ms) makes the exchanges of a round overlap. The first round
// opens up to 200 node connections; later rounds find them pooled. (With a fixed cap of 32 idle connections per
// node, every round opened ~170 new ones: ~1,700 here.) The metric counts every connection the node accepted.
TEST_F(NodePool, ConcurrentClientsReuseNodeConnections) {
    constexpr std::size_t n = 200;
    constexpr int rounds = 10;
    auto& node = add_upstream(upstream_options{.name = "alpha", .delay_all = 100ms});
    gatehouse_options o;
    o.timeouts = {{"upstream_idle", "4s"}};  // a round on a slow sanitizer build stays far within it
    auto& gh = start_gatehouse(o);
    auto c = open_clients(gh.port(), n);
    for (int round = 0; round < rounds; ++round) {
        one_round(c, round);
        if (HasFatalFailure()) return;
    }
    EXPECT_EQ(node.requests(), n * rounds);
    EXPECT_LE(node.connections(), n + n / 2) << "node connections for " << n * rounds << " requests";
    EXPECT_EQ(metric(gh, "gatehouse_upstream_connections_opened_total{node=\"alpha\"}"),
              static_cast<double>(node.connections()));
}

// A burst leaves idle connections behind; with one client left sending, the pool shrinks to what that client uses,
// and every connection the burst opened is closed by gatehouse as surplus or at timeouts.upstream_idle (counted).
TEST_F(NodePool, SurplusIdleConnectionsClose) {
    constexpr std::size_t n = 100;
    auto& node = add_upstream(upstream_options{.name = "alpha", .delay_all = 100ms});
    gatehouse_options o;
    o.timeouts = {{"upstream_idle", "1s"}};
    auto& gh = start_gatehouse(o);
    {
        auto c = open_clients(gh.port(), n);
        one_round(c, 0);
        if (HasFatalFailure()) return;
    }
    const auto opened = node.connections();
    ASSERT_GT(opened, 10u) << "the burst overlapped";
    client_connection one(gh.port());
    // Bounded: at most 20 s of one request at a time (each takes the node's 100 ms).
    const bool shrank = wait_until([&] {
        one.send(get_request("/"));
        return one.read_response().status == 200u && node.open_connections() <= 2;
    }, 20s, 0ms);
    EXPECT_TRUE(shrank) << node.open_connections() << " node connections still open";
    const double closed = idle_closed(gh, "surplus") + idle_closed(gh, "timeout");
    EXPECT_GE(closed, static_cast<double>(opened - 2));
    EXPECT_GE(idle_closed(gh, "unusable"), 0) << "every reason is exported";
}

}  // namespace
}  // namespace gatehouse::test
