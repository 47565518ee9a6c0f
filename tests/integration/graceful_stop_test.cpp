// SIGTERM: stop accepting, let in-flight requests finish, close idle connections, exit 0.
#include "harness.hpp"

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace gatehouse::test {
namespace {

class GracefulStop : public GatehouseTest {};

using clock = std::chrono::steady_clock;

// A request in flight when SIGTERM arrives completes with 200, new connections are refused, and the exit code is 0.
/// The blocked-signal mask (SigBlk) of each thread of process `pid`, by thread id.
std::map<int, std::uint64_t> blocked_signals_by_thread(int pid) {
    std::map<int, std::uint64_t> out;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& entry : std::filesystem::directory_iterator(task)) {
        std::ifstream status(entry.path() / "status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("SigBlk:", 0) == 0) out[std::stoi(entry.path().filename())] = std::stoull(line.substr(7), nullptr, 16);
    }
    return out;
}

// The signals gatehouse acts on reach its control thread: every worker thread blocks them, so a busy worker can
// never take (and sit on) a SIGTERM, SIGINT, SIGHUP or SIGUSR1; the control thread does not block them.
TEST_F(GracefulStop, OnlyTheControlThreadTakesSignals) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.workers = 2});
    const auto masks = blocked_signals_by_thread(gh.pid());
    ASSERT_GE(masks.size(), 3u) << "expected the control thread and two workers";
    for (const auto& [tid, mask] : masks) {
        for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
            const bool blocked = (mask >> (s - 1)) & 1u;
            if (tid == gh.pid()) EXPECT_FALSE(blocked) << "the control thread blocks signal " << s;
            else EXPECT_TRUE(blocked) << "thread " << tid << " can take signal " << s;
        }
    }
    gh.signal(SIGTERM);
    EXPECT_EQ(gh.wait_exit(10s), 0);
}

TEST_F(GracefulStop, InFlightRequestCompletesAndProcessExitsZero) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"shutdown_drain", "10s"}}});
    client_connection c(gh.port(), 10s);
    c.send(get_request("/slow/1500"));
    ASSERT_TRUE(node.wait_for_requests(1, 5s));

    gh.signal(SIGTERM);
    ASSERT_TRUE(gh.wait_for_log("SIGTERM", 2s)) << "gatehouse did not log the signal";

    // A connection attempted after the signal is refused, or closed without being served.
    const auto m = unique_marker();
    bool refused = false;
    raw_result late;
    try {
        late = raw_exchange(gh.port(), get_request("/late-" + m), 3s);
    } catch (const std::runtime_error& e) {
        refused = true;
        EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
    if (!refused) {
        EXPECT_TRUE(late.closed) << "a connection made after SIGTERM stayed open";
        EXPECT_NE(late.status(), 200u) << late.data;
    }

    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "slow");
    EXPECT_TRUE(iequal(r.header("Connection"), "close")) << r.raw_head();

    const auto code = gh.wait_exit(5s);
    ASSERT_TRUE(code.has_value()) << "gatehouse still running 5 s after the request completed";
    EXPECT_EQ(*code, 0);
    EXPECT_FALSE(node.received("/late-" + m));
}

// An idle keep-alive connection is closed at SIGTERM and the process exits 0 promptly.
TEST_F(GracefulStop, IdleKeepAliveConnectionIsClosedAndProcessExitsZero) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"shutdown_drain", "10s"}}});
    client_connection c(gh.port());
    c.send(get_request("/"));
    ASSERT_EQ(c.read_response().status, 200u);

    const auto start = clock::now();
    gh.signal(SIGTERM);
    EXPECT_TRUE(c.is_closed_by_peer(3s)) << "idle connection still open";
    const auto code = gh.wait_exit(5s);
    ASSERT_TRUE(code.has_value()) << "gatehouse still running after SIGTERM";
    EXPECT_EQ(*code, 0);
    EXPECT_LT(clock::now() - start, 3s);
}

}  // namespace
}  // namespace gatehouse::test
