// limits.max_connections_per_client: past the cap, a client address's new connections are closed at once (counted
// in gatehouse_client_connections_refused_total), across all workers; one that closes makes room again.
#include "harness.hpp"

#include <thread>

namespace gatehouse::test {
namespace {

class ClientLimit : public GatehouseTest {
protected:
    gatehouse_process& start_with_cap(unsigned workers, unsigned cap) {
        gatehouse_options options{.workers = workers};
        for (const auto& u : upstreams_) options.nodes.push_back({u->name(), u->address()});
        const auto port = reserve_port();
        const auto admin_port = reserve_port();
        gatehouses_.push_back(std::make_unique<gatehouse_process>(
            make_config(options, port, admin_port) + "\n[limits]\nmax_connections_per_client = " +
                std::to_string(cap) + "\n",
            port, admin_port));
        return *gatehouses_.back();
    }
};

/// A connection that got a 200 for `target`, or nullptr. Earlier connections (the harness's readiness probe, one
/// the test just closed) hold their place until gatehouse sees them close, so a refused try is repeated (every
/// 20 ms, for at most 3 s) until one is served.
std::unique_ptr<client_connection> served_connection(std::uint16_t port, const std::string& target) {
    std::unique_ptr<client_connection> served;
    wait_until(
        [&] {
            auto c = std::make_unique<client_connection>(port, 5s);
            try {
                c->send(get_request(target));
                if (c->read_response().status == 200) served = std::move(c);
            } catch (const std::exception&) {
            }
            return served != nullptr;
        },
        3s, 20ms);
    return served;
}

std::string get_metrics(const gatehouse_process& gh) { return get(gh.admin_port(), "/metrics").body; }

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
    auto first = served_connection(gh.port(), "/one");
    auto second = served_connection(gh.port(), "/two");
    ASSERT_TRUE(first && second);
    const long refused_before = refused_count(get_metrics(gh));

    const auto m = unique_marker("third");
    client_connection third(gh.port(), 5s);
    third.try_send(get_request("/" + m));
    EXPECT_TRUE(third.is_closed_by_peer(3s));
    EXPECT_TRUE(third.pending().empty()) << third.pending();
    EXPECT_FALSE(node.received(m));
    EXPECT_EQ(refused_count(get_metrics(gh)), refused_before + 1);
    EXPECT_TRUE(gh.wait_for_log("limits.max_connections_per_client reached", 2s)) << gh.log();

    // The two still work.
    second->send(get_request("/again"));
    EXPECT_EQ(second->read_response().status, 200u);

    first.reset();  // one leaves: gatehouse sees it close, and its place is free
    EXPECT_TRUE(served_connection(gh.port(), "/four"));
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
    EXPECT_EQ(refused_count(get_metrics(gh)), 0);
}

}  // namespace
}  // namespace gatehouse::test
