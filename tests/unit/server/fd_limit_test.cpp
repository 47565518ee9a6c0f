// The file-descriptor budget gatehouse check compares with RLIMIT_NOFILE, and raising the soft limit.
#include <gatehouse/server/fd_limit.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <sys/resource.h>

using namespace gatehouse;

namespace {

config::config with(std::uint64_t max_connections, unsigned workers, unsigned keepalive, std::size_t nodes) {
    config::config c;
    c.limits.max_connections = max_connections;
    c.proxy.workers = workers;
    c.upstream.keepalive = keepalive;
    c.upstream.nodes.resize(nodes);
    return c;
}

}  // namespace

// Per worker a client and a node socket per connection, plus the idle pool, plus the fixed margin.
TEST(FdLimit, NeedsTwoSocketsPerConnectionPlusPoolPlusMargin) {
    EXPECT_EQ(server::descriptors_needed(with(1000, 4, 32, 3), 2), 4 * (2 * 1000 + 32 * 3) + server::fd_limit_margin);
    // proxy.workers = 0 is one per core.
    EXPECT_EQ(server::descriptors_needed(with(1000, 0, 0, 1), 8), 8 * 2000 + server::fd_limit_margin);
    EXPECT_EQ(server::descriptors_needed(with(0, 4, 32, 3), 2), std::nullopt) << "unlimited connections: no bound";
    EXPECT_EQ(server::descriptors_needed(with(std::numeric_limits<std::uint64_t>::max() / 2, 4, 32, 3), 2),
              std::numeric_limits<std::uint64_t>::max())
        << "saturates instead of wrapping";
}

// upstream.keepalive unset (the pool sized by demand): the idle pool may hold up to max_connections per worker.
TEST(FdLimit, DemandSizedPoolCountsUpToMaxConnectionsIdle) {
    auto c = with(1000, 2, 0, 3);
    c.upstream.keepalive.reset();
    EXPECT_EQ(server::descriptors_needed(c, 2), 2 * (2 * 1000 + 1000) + server::fd_limit_margin);
    c.upstream.keepalive = 4096;  // a cap above what max_connections allows anyway
    EXPECT_EQ(server::descriptors_needed(c, 2), 2 * (2 * 1000 + 1000) + server::fd_limit_margin);
}

TEST(FdLimit, WarnsOnlyWhenTheBudgetExceedsTheLimit) {
    const auto c = with(10000, 2, 32, 2);  // 2 * (20000 + 64) + 100 = 40228
    EXPECT_EQ(server::fd_limit_warning(c, 2, 40228), std::nullopt);
    const auto w = server::fd_limit_warning(c, 2, 40227);
    ASSERT_TRUE(w.has_value());
    EXPECT_NE(w->find("limits.max_connections = 10000"), std::string::npos) << *w;
    EXPECT_NE(w->find("40228"), std::string::npos) << *w;
    EXPECT_NE(w->find("40227"), std::string::npos) << *w;
    EXPECT_EQ(server::fd_limit_warning(with(0, 2, 32, 2), 2, 10), std::nullopt);
}

// The soft limit ends at the hard limit, and the log line says what happened.
TEST(FdLimit, RaiseSetsTheSoftLimitToTheHardLimit) {
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit lowered = saved;
    lowered.rlim_cur = std::min<rlim_t>(saved.rlim_max, 256);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    const auto r = server::raise_fd_limit();
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.before.soft, lowered.rlim_cur);
    EXPECT_EQ(r.after.soft, r.after.hard);
    EXPECT_EQ(server::current_fd_limits().soft, server::current_fd_limits().hard);
    if (lowered.rlim_cur != saved.rlim_max) {
        EXPECT_NE(server::describe(r).find("raised from 256"), std::string::npos) << server::describe(r);
    }
    ::setrlimit(RLIMIT_NOFILE, &saved);
}
