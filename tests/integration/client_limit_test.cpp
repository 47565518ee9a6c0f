// limits.max_connections_per_client: past the cap, a client address's new connections are closed at once (counted
// in gatehouse_client_connections_refused_total), across all workers; one that closes makes room again.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class ClientLimit : public GatehouseTest {
protected:
    gatehouse_process& start_with_cap(unsigned workers, unsigned cap) {
        gatehouse_options options{.workers = workers};
        for (const auto& u : upstreams_) options.nodes.push_back({u->name(), u->address()});
        const auto port = free_port();
        const auto admin_port = free_port();
        gatehouses_.push_back(std::make_unique<gatehouse_process>(
            make_config(options, port, admin_port) + "\n[limits]\nmax_connections_per_client = " +
                std::to_string(cap) + "\n",
            port, admin_port));
        return *gatehouses_.back();
    }
};

/// The value of the refused-connections counter in a /metrics text, -1 when absent.
long refused_count(const std::string& metrics) {
    const std::string name = "gatehouse_client_connections_refused_total{reason=\"per_client_limit\"} ";
    const auto at = metrics.find(name);
    if (at == std::string::npos) return -1;
    return std::stol(metrics.substr(at + name.size()));
}

// Cap 2 on two workers: two connections from 127.0.0.1 are served, the third is closed without an answer, and
// after one of the two closes a fourth is served.
TEST_F(ClientLimit, ThirdConnectionIsClosedAndAFourthAfterOneClosedIsServed) {
    auto& node = add_upstream("alpha");
    auto& gh = start_with_cap(2, 2);
    auto first = std::make_unique<client_connection>(gh.port(), 5s);
    client_connection second(gh.port(), 5s);
    first->send(get_request("/one"));
    ASSERT_EQ(first->read_response().status, 200u);
    second.send(get_request("/two"));
    ASSERT_EQ(second.read_response().status, 200u);

    const auto m = unique_marker("third");
    client_connection third(gh.port(), 5s);
    third.try_send(get_request("/" + m));
    EXPECT_TRUE(third.is_closed_by_peer(3s));
    EXPECT_TRUE(third.pending().empty()) << third.pending();
    EXPECT_FALSE(node.received(m));
    EXPECT_EQ(refused_count(get(gh.admin_port(), "/metrics").body), 1);
    EXPECT_TRUE(gh.wait_for_log("limits.max_connections_per_client reached", 2s)) << gh.log();

    // The two still work.
    second.send(get_request("/again"));
    EXPECT_EQ(second.read_response().status, 200u);

    first.reset();  // one leaves: gatehouse sees it close, and its place is free
    bool served = false;
    for (int i = 0; i < 30 && !served; ++i) {
        client_connection fourth(gh.port(), 5s);
        if (!fourth.try_send(get_request("/four"))) continue;
        if (fourth.is_closed_by_peer(100ms) && fourth.pending().empty()) continue;  // gatehouse not there yet
        served = fourth.read_response().status == 200;
    }
    EXPECT_TRUE(served);
}

// The default (0) counts nothing: many connections from one address are all served.
TEST_F(ClientLimit, ZeroIsNoCap) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    std::vector<std::unique_ptr<client_connection>> held;
    for (int i = 0; i < 20; ++i) {
        held.push_back(std::make_unique<client_connection>(gh.port(), 5s));
        held.back()->send(get_request("/"));
        ASSERT_EQ(held.back()->read_response().status, 200u) << i;
    }
    EXPECT_EQ(refused_count(get(gh.admin_port(), "/metrics").body), 0);
}

}  // namespace
}  // namespace gatehouse::test
