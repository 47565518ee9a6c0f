// Keep-alive towards the nodes: pooled connections are reused across requests and client connections.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class ConnectionReuse : public GatehouseTest {};

// 200 sequential requests on one client connection (one worker) are carried by at most 2 node connections.
TEST_F(ConnectionReuse, SequentialRequestsOnOneClientConnectionReuseNodeConnection) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.workers = 1});
    client_connection c(gh.port());
    for (int i = 0; i < 200; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
        ASSERT_EQ(r.body, "node=alpha");
    }
    EXPECT_EQ(node.requests(), 200u);
    EXPECT_LE(node.connections(), 2u);
}

// Requests arriving on three different client connections share the pooled node connection.
TEST_F(ConnectionReuse, RequestsOnSeparateClientConnectionsReuseNodeConnection) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.workers = 1});
    {
        // Three connections open at once, used in turn.
        client_connection a(gh.port()), b(gh.port()), c(gh.port());
        client_connection* clients[] = {&a, &b, &c};
        for (int round = 0; round < 10; ++round) {
            for (auto* client : clients) {
                client->send(get_request("/"));
                const auto r = client->read_response();
                ASSERT_EQ(r.status, 200u) << r.raw;
            }
        }
    }
    // Three connections one after the other, each closed after its request.
    for (int i = 0; i < 3; ++i) {
        const auto r = get(gh.port(), "/");
        ASSERT_EQ(r.status, 200u) << r.raw;
    }
    EXPECT_EQ(node.requests(), 33u);
    EXPECT_LE(node.connections(), 2u);
}

}  // namespace
}  // namespace gatehouse::test
