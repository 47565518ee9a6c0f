// Slow clients: a request head trickling in (slowloris) is cut off by timeouts.client_header.
#include "harness.hpp"

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

}  // namespace
}  // namespace gatehouse::test
