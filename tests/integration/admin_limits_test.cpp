// The admin listener's own bounds: at most 64 connections (the one idle the longest makes room; when all are busy,
// new ones are closed at once), 5 s for an idle connection's next request, 5 s for a request's head and body. A
// local process holding connections cannot keep the operator out for long.
#include "admin_client.hpp"

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;
constexpr int cap = 64;

class AdminLimits : public GatehouseTest {
protected:
    gatehouse_process& start() {
        add_upstream("node1");
        return start_gatehouse({.admin_token = std::string(admin_token)});
    }
};

/// Opens `n` connections to `port`, each sending `bytes` ("" = nothing: idle).
std::vector<std::unique_ptr<client_connection>> hold(std::uint16_t port, int n, std::string_view bytes) {
    std::vector<std::unique_ptr<client_connection>> held;
    for (int i = 0; i < n; ++i) {
        held.push_back(std::make_unique<client_connection>(port, 10s));
        if (!bytes.empty()) held.back()->send(bytes);
    }
    return held;
}

int closed_within(std::vector<std::unique_ptr<client_connection>>& held, std::chrono::milliseconds each) {
    int closed = 0;
    for (auto& c : held) closed += c->is_closed_by_peer(each) ? 1 : 0;
    return closed;
}

// 64 idle connections and then the operator: the oldest idle one is closed at once to make room, the call is
// answered; the others are closed after the idle timeout (5 s), not the 30 s they used to hold.
TEST_F(AdminLimits, IdleConnectionsMakeRoomAndTimeOut) {
    auto& gh = start();
    auto held = hold(gh.admin_port(), cap, "");
    // The listener accepts in arrival order, so the operator's connection comes after all 64.
    const auto started = clock::now();
    const auto r = admin_call(gh, "GET", "/api/status");
    EXPECT_EQ(r.status, 200u);
    EXPECT_LT(clock::now() - started, 2s);
    EXPECT_TRUE(held.front()->is_closed_by_peer(500ms)) << "the one idle the longest makes room";
    EXPECT_EQ(closed_within(held, 1ms), 1) << "exactly one idle connection makes room";

    // The idle timeout: everything else closes within ~5 s (bounded at 9 s).
    const auto deadline = clock::now() + 9s;
    int closed = 0;
    for (auto& c : held) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        closed += c->is_closed_by_peer(std::max(left, 1ms)) ? 1 : 0;
    }
    EXPECT_EQ(closed, cap);
    EXPECT_GE(clock::now() - started, 4s) << "closed before the idle timeout";
    EXPECT_EQ(admin_call(gh, "GET", "/api/status").status, 200u);
}

// 64 connections each in the middle of a request head (busy): a new connection is closed at once without an
// answer (and logged), until the request timeout (5 s) closes the stalled ones; then the API answers again.
TEST_F(AdminLimits, BusyConnectionsAtTheCapTurnNewOnesAwayUntilTheyTimeOut) {
    auto& gh = start();
    auto held = hold(gh.admin_port(), cap, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const auto started = clock::now();
    // Wait until the listener has accepted all of them: a new connection is turned away.
    bool turned_away = false;
    for (int i = 0; i < 50 && !turned_away; ++i) {
        client_connection extra(gh.admin_port(), 2s);
        turned_away = extra.is_closed_by_peer(200ms) && extra.pending().empty();
    }
    EXPECT_TRUE(turned_away);
    EXPECT_TRUE(gh.wait_for_log("64 connections busy at once", 2s)) << gh.log();

    const auto deadline = clock::now() + 9s;
    int closed = 0;
    for (auto& c : held) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        closed += c->is_closed_by_peer(std::max(left, 1ms)) ? 1 : 0;
    }
    EXPECT_EQ(closed, cap);
    EXPECT_GE(clock::now() - started, 4s) << "closed before the request timeout";
    EXPECT_EQ(admin_call(gh, "GET", "/api/status").status, 200u);
}

}  // namespace
}  // namespace gatehouse::test
