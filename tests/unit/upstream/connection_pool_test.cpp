// The per-worker idle connection pool on real loopback sockets: newest first, expiry, age window, usability check.
#include <gatehouse/upstream/connection_pool.hpp>

#include <gatehouse/util/coarse_clock.hpp>

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <limits>
#include <thread>
#include <vector>

using namespace gatehouse;

namespace {

/// Connected sockets on 127.0.0.1: `client(i)` is what a pool would hold, `server(i)` the node's side.
struct loopback_pairs {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::vector<tcp::socket> servers;
    tcp::socket connect() {
        tcp::socket c(io);
        c.connect(acceptor.local_endpoint());
        servers.push_back(acceptor.accept());
        return c;
    }
};

bool always(tcp::socket&) noexcept { return true; }
bool never(tcp::socket&) noexcept { return false; }
bool quiet(tcp::socket& s) noexcept { return upstream::still_open_and_quiet(s); }

std::uint16_t local_port(const tcp::socket& s) { return s.local_endpoint().port(); }

constexpr std::int64_t any_age = std::numeric_limits<std::int64_t>::max();

}  // namespace

// The newest parked connection is handed out first.
TEST(ConnectionPool, TakesNewestFirst) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    auto a = net.connect(), b = net.connect();
    const auto pa = local_port(a), pb = local_port(b);
    const auto later = util::coarse_now_ms() + 60000;
    pool.put(0, std::move(a), later);
    pool.put(0, std::move(b), later);
    auto first = pool.take(0, any_age, always);
    ASSERT_TRUE(first);
    EXPECT_EQ(local_port(*first), pb);
    auto second = pool.take(0, any_age, always);
    ASSERT_TRUE(second);
    EXPECT_EQ(local_port(*second), pa);
    EXPECT_FALSE(pool.take(0, any_age, always));
}

// A connection past its expiry is never handed out, even before the periodic expire() closed it.
TEST(ConnectionPool, ExpiredConnectionIsNeverTaken) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    pool.put(0, net.connect(), util::coarse_now_ms() - 1);
    EXPECT_FALSE(pool.take(0, any_age, always));
    EXPECT_EQ(pool.idle(0), 0u);
}

// A connection parked longer ago than the caller's window stays in the pool for a caller that accepts it.
TEST(ConnectionPool, OldConnectionIsLeftForCallersThatAcceptIt) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    pool.put(0, net.connect(), util::coarse_now_ms() + 60000);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EXPECT_FALSE(pool.take(0, 20, always));
    EXPECT_EQ(pool.idle(0), 1u);
    EXPECT_TRUE(pool.take(0, any_age, always));
}

// A connection that fails the caller's check is closed, and the next one is tried.
TEST(ConnectionPool, UnusableConnectionsAreDropped) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    const auto later = util::coarse_now_ms() + 60000;
    pool.put(0, net.connect(), later);
    pool.put(0, net.connect(), later);
    EXPECT_FALSE(pool.take(0, any_age, never));
    EXPECT_EQ(pool.idle(0), 0u);
}

// The peek check refuses a connection the node wrote stray bytes on, or closed, and accepts a quiet one.
TEST(ConnectionPool, PeekRefusesStrayBytesAndClosedConnections) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    const auto later = util::coarse_now_ms() + 60000;
    auto quiet_one = net.connect();
    const auto quiet_port = local_port(quiet_one);
    pool.put(0, std::move(quiet_one), later);
    pool.put(0, net.connect(), later);
    pool.put(0, net.connect(), later);
    net::write(net.servers[2], net::buffer(std::string_view("HTTP/1.1 200 OK\r\n\r\n")));  // stray bytes
    net.servers[1].close();                                                                // closed by the node
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto taken = pool.take(0, any_age, quiet);
    ASSERT_TRUE(taken);
    EXPECT_EQ(local_port(*taken), quiet_port);
    EXPECT_EQ(pool.idle(0), 0u);
}
