// Resource limits: [limits] max_connections holds new connections in the listen backlog, and running out of file
// descriptors (accept fails with EMFILE) neither stops the connections gatehouse has nor keeps it from recovering.
#include "harness.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <thread>

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;

class ResourceLimits : public GatehouseTest {
protected:
    /// Starts gatehouse on the harness's configuration plus `limits` (raw TOML lines of [limits]).
    gatehouse_process& start_with_limits(gatehouse_options options, const std::string& limits) {
        if (options.nodes.empty())
            for (const auto& u : upstreams_) options.nodes.push_back({u->name(), u->address()});
        const auto port = reserve_port();
        const auto admin_port = reserve_port();
        gatehouses_.push_back(std::make_unique<gatehouse_process>(
            make_config(options, port, admin_port) + "\n[limits]\n" + limits, port, admin_port));
        return *gatehouses_.back();
    }
};

// At max_connections a worker accepts nothing more: a new client waits (connected, in the kernel's backlog,
// unanswered), the connections already there keep being served, and as soon as one of them closes the waiting
// client is accepted and answered. The cap is logged once per interval, not once per attempt.
TEST_F(ResourceLimits, MaxConnectionsHoldsNewClientsInTheBacklogUntilOneCloses) {
    auto& node = add_upstream("alpha");
    auto& gh = start_with_limits({}, "max_connections = 3\n");

    std::vector<std::unique_ptr<client_connection>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<client_connection>(gh.port()));
        held.back()->send(get_request("/held-" + std::to_string(i)));
        ASSERT_EQ(held.back()->read_response().status, 200u);
    }

    const auto m = unique_marker("fourth");
    client_connection fourth(gh.port(), 10s);
    fourth.send(get_request("/" + m));
    EXPECT_FALSE(fourth.is_closed_by_peer(800ms));
    EXPECT_TRUE(fourth.pending().empty()) << "answered above the cap: " << fourth.pending();
    EXPECT_FALSE(node.received(m));
    EXPECT_TRUE(gh.wait_for_log("limits.max_connections reached", 2s));

    // The connections it has are still served at the cap.
    for (auto& c : held) {
        c->send(get_request("/again"));
        EXPECT_EQ(c->read_response().status, 200u);
    }

    // One leaves: the waiting client is accepted at once (not at the next 1 s re-check).
    const auto closed_at = clock::now();
    held.pop_back();
    const auto r = fourth.read_response();
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - closed_at);
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(node.received(m));
    EXPECT_LT(waited, 800ms);
    EXPECT_EQ(occurrences(gh.log(), "limits.max_connections reached"), 1u) << gh.log();
}

// max_connections = 0 is no cap: more connections than the default would be refused by nothing.
TEST_F(ResourceLimits, ZeroMaxConnectionsIsUnlimited) {
    add_upstream("alpha");
    auto& gh = start_with_limits({}, "max_connections = 0\n");
    std::vector<std::unique_ptr<client_connection>> held;
    for (int i = 0; i < 20; ++i) {
        held.push_back(std::make_unique<client_connection>(gh.port()));
        held.back()->send(get_request("/c"));
        ASSERT_EQ(held.back()->read_response().status, 200u);
    }
    EXPECT_EQ(occurrences(gh.log(), "max_connections"), 0u);
}

// Out of file descriptors: gatehouse's RLIMIT_NOFILE is lowered (prlimit) to a few above what it has open, then
// more clients connect than it can accept. accept fails with EMFILE: it logs that once per interval, keeps
// serving the connection it has (over its pooled node connection), and once clients leave and descriptors are
// free again it accepts the client that waited in the backlog and new ones.
TEST_F(ResourceLimits, RecoversFromRunningOutOfFileDescriptors) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"upstream_idle", "60s"}, {"client_idle", "60s"}}});

    client_connection first(gh.port());
    first.send(get_request("/first"));
    ASSERT_EQ(first.read_response().status, 200u);  // leaves one idle node connection in the pool

    const int open_now = gh.open_fds();
    ASSERT_GT(open_now, 0);
    rlimit old{};
    ASSERT_EQ(::prlimit(gh.pid(), RLIMIT_NOFILE, nullptr, &old), 0);
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(open_now + 3);
    ASSERT_EQ(::prlimit(gh.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

    // More clients than free descriptors: the first few are accepted, then accept fails.
    std::vector<std::unique_ptr<client_connection>> extra;
    for (int i = 0; i < 12; ++i) extra.push_back(std::make_unique<client_connection>(gh.port(), 10s));
    ASSERT_TRUE(gh.wait_for_log("Too many open files", 5s)) << "accept never hit EMFILE";
    const auto exhausted_at = clock::now();

    // The last client is still in the backlog: its request waits.
    const auto m = unique_marker("late");
    auto& late = *extra.back();
    late.send(get_request("/" + m));

    // The connection gatehouse already has keeps working (its node connection comes from the pool).
    first.send(get_request("/during"));
    EXPECT_EQ(first.read_response().status, 200u);

    // The behaviour under test is that nothing happens meanwhile: several 200 ms accept back-offs pass and the
    // waiting client is still not answered.
    std::this_thread::sleep_for(1500ms);
    EXPECT_TRUE(late.pending().empty()) << "a client was answered with no descriptor free: " << late.pending();
    EXPECT_FALSE(node.received(m));
    EXPECT_TRUE(gh.running());

    // Clients leave: descriptors free up and the waiting client gets its answer.
    const auto freed_at = clock::now();
    extra.erase(extra.begin(), extra.end() - 1);
    const auto r = late.read_response();
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(node.received(m));
    EXPECT_LT(clock::now() - freed_at, 3s);

    // New clients are accepted again.
    EXPECT_EQ(get(gh.port(), "/after").status, 200u);

    // Logged once per 5 s interval, not once per 200 ms retry.
    const auto exhausted_for = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - exhausted_at);
    const auto lines = occurrences(gh.log(), "Too many open files");
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, 1u + static_cast<std::size_t>(exhausted_for.count() / 5)) << gh.log();
    ::prlimit(gh.pid(), RLIMIT_NOFILE, &old, nullptr);
}

}  // namespace
}  // namespace gatehouse::test
