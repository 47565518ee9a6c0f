// Slow clients: a request head trickling in (slowloris) is cut off by timeouts.client_header; a client that stops
// reading an answer is cut off by timeouts.client_idle, and the node's connection with it.
#include "harness.hpp"

#include <sys/socket.h>

namespace gatehouse::test {
namespace {

class SlowClients : public GatehouseTest {};

using clock = std::chrono::steady_clock;

// A head sent one byte every 200 ms is answered 408 (or closed) about client_header (1 s) after it began.
TEST_F(SlowClients, SlowlorisHeadIsCutOffByClientHeaderTimeout) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"client_header", "1s"}}});
    const auto m = unique_marker();
    const std::string head = "GET /slowloris-" + m + " HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + std::string(200, 'a');
    client_connection c(gh.port(), 5s);
    const auto start = clock::now();
    bool closed = false;
    for (std::size_t i = 0; i < head.size() && clock::now() - start < 6s; ++i) {
        if (!c.try_send(std::string_view(head).substr(i, 1))) {
            closed = true;
            break;
        }
        if (c.is_closed_by_peer(200ms)) {  // also paces the bytes: one every 200 ms
            closed = true;
            break;
        }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    EXPECT_TRUE(closed) << "still open after " << elapsed.count() << " ms";
    EXPECT_LT(elapsed, 2500ms);
    if (!c.pending().empty()) {
        EXPECT_EQ(c.pending().rfind("HTTP/1.1 408 ", 0), 0u) << c.pending();
    }
    EXPECT_FALSE(node.received(m));
    EXPECT_EQ(node.requests(), 0u);
}


// A client asks for a 256 MiB answer and never reads it. Once the socket buffers are full, gatehouse waits on a
// write to the client: that wait is bounded by client_idle (1 s), not upstream_response (60 s). Both the client's
// and the node's connection close within a few seconds (the node sees its send fail and its connection end).
TEST_F(SlowClients, ClientThatStopsReadingIsCutOffByClientIdle) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"client_idle", "1s"}, {"upstream_response", "60s"}}});
    client_connection c(gh.port(), 10s);
    const int small = 16 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.send(get_request("/download/268435456"));
    ASSERT_TRUE(node.wait_for_requests(1, 5s));
    ASSERT_TRUE(wait_until([&] { return node.open_connections() == 1; }, 5s));
    const auto start = clock::now();
    const bool node_closed = wait_until([&] { return node.open_connections() == 0; }, 8s);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    EXPECT_TRUE(node_closed) << "the node's connection is still open after " << elapsed.count() << " ms";
    EXPECT_LT(elapsed, 6000ms);
    // The client's connection is closed too (whatever it had received stays in its socket buffer).
    bool client_closed = false;
    char sink[64 * 1024];
    for (int i = 0; i < 100000 && !client_closed; ++i) {
        const auto n = ::recv(c.fd(), sink, sizeof sink, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) client_closed = true;
        else if (n < 0) break;
    }
    EXPECT_TRUE(client_closed || c.is_closed_by_peer(2s));
}

}  // namespace
}  // namespace gatehouse::test
