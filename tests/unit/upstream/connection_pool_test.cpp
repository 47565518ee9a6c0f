// The per-worker idle connection pool on real loopback sockets: newest first, capacity, expiry, age window, remap,
// usability check, sizing by demand.
#include <gatehouse/upstream/connection_pool.hpp>

#include <gatehouse/util/coarse_clock.hpp>

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <limits>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

bool always(upstream::node_stream&) noexcept { return true; }
bool never(upstream::node_stream&) noexcept { return false; }
bool quiet(upstream::node_stream& s) noexcept { return upstream::still_open_and_quiet(s); }

std::uint16_t local_port(const tcp::socket& s) { return s.local_endpoint().port(); }
std::uint16_t local_port(const upstream::node_stream& s) { return s.socket().local_endpoint().port(); }

constexpr std::int64_t any_age = std::numeric_limits<std::int64_t>::max();

/// A second descriptor for a socket the pool will own, to watch what reaches it while it is parked.
struct descriptor_copy {
    int fd;
    explicit descriptor_copy(tcp::socket& s) : fd(::dup(s.native_handle())) {}
    ~descriptor_copy() { ::close(fd); }
    descriptor_copy(const descriptor_copy&) = delete;
    descriptor_copy& operator=(const descriptor_copy&) = delete;
};

/// True when `fd` becomes readable (bytes, end of stream or an error) within `timeout`.
bool readable_within(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

/// True when the node's side of a connection sees it closed by the pool (end of stream) within a second.
bool closed_by_pool(tcp::socket& server) {
    if (!readable_within(server.native_handle(), std::chrono::seconds(1))) return false;
    char byte;
    return ::recv(server.native_handle(), &byte, 1, MSG_DONTWAIT) == 0;
}

/// True when the node's side of a connection is still open: nothing readable (no end of stream) right now.
bool still_open(tcp::socket& server) { return !readable_within(server.native_handle(), std::chrono::milliseconds(0)); }

std::int64_t in_a_minute() { return util::coarse_now_ms() + 60000; }

/// Records recent demand of 8 connections in use on each of the first `nodes` nodes (the pool keeps up to that).
void note_demand(upstream::connection_pool& pool, std::size_t nodes) {
    for (std::size_t n = 0; n < nodes; ++n) pool.note_in_use(n, 8);
}

}  // namespace

// The newest parked connection is handed out first.
TEST(ConnectionPool, TakesNewestFirst) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    note_demand(pool, 1);
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
    note_demand(pool, 1);
    pool.put(0, net.connect(), util::coarse_now_ms() - 1);
    EXPECT_FALSE(pool.take(0, any_age, always));
    EXPECT_EQ(pool.idle(0), 0u);
}

// A connection parked longer ago than the caller's window stays in the pool for a caller that accepts it.
TEST(ConnectionPool, OldConnectionIsLeftForCallersThatAcceptIt) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    note_demand(pool, 1);
    pool.put(0, net.connect(), util::coarse_now_ms() + 60000);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // the behaviour under test: parked longer than 20 ms
    EXPECT_FALSE(pool.take(0, 20, always));
    EXPECT_EQ(pool.idle(0), 1u);
    EXPECT_TRUE(pool.take(0, any_age, always));
}

// A connection that fails the caller's check is closed, and the next one is tried.
TEST(ConnectionPool, UnusableConnectionsAreDropped) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    note_demand(pool, 1);
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
    note_demand(pool, 1);
    const auto later = util::coarse_now_ms() + 60000;
    upstream::node_stream quiet_one{net.connect()};
    const auto quiet_port = local_port(quiet_one);
    pool.put(0, std::move(quiet_one), later);
    auto closed_one = net.connect();
    const descriptor_copy watch_closed(closed_one);
    pool.put(0, std::move(closed_one), later);
    auto stray_one = net.connect();
    const descriptor_copy watch_stray(stray_one);
    pool.put(0, std::move(stray_one), later);
    net::write(net.servers[2], net::buffer(std::string_view("HTTP/1.1 200 OK\r\n\r\n")));  // stray bytes
    net.servers[1].close();                                                                // closed by the node
    // Both have reached the parked sockets (their copies poll readable) before the pool looks.
    EXPECT_TRUE(readable_within(watch_stray.fd, std::chrono::seconds(2)));
    EXPECT_TRUE(readable_within(watch_closed.fd, std::chrono::seconds(2)));
    auto taken = pool.take(0, any_age, quiet);
    ASSERT_TRUE(taken);
    EXPECT_EQ(local_port(*taken), quiet_port);
    EXPECT_EQ(pool.idle(0), 0u);
}

// Past max_idle_per_node, parking a connection closes the oldest one of that node.
TEST(ConnectionPool, FullNodeClosesItsOldestConnection) {
    loopback_pairs net;
    upstream::connection_pool pool(2);
    pool.reset(1);
    note_demand(pool, 1);
    auto a = net.connect(), b = net.connect(), c = net.connect();
    const auto pb = local_port(b), pc = local_port(c);
    pool.put(0, std::move(a), in_a_minute());
    pool.put(0, std::move(b), in_a_minute());
    pool.put(0, std::move(c), in_a_minute());
    EXPECT_EQ(pool.idle(0), 2u);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_TRUE(still_open(net.servers[1]));
    EXPECT_TRUE(still_open(net.servers[2]));
    auto first = pool.take(0, any_age, always);
    auto second = pool.take(0, any_age, always);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(local_port(*first), pc);
    EXPECT_EQ(local_port(*second), pb);
}

// max_idle_per_node 0 disables reuse: a parked connection is closed at once.
TEST(ConnectionPool, ZeroMaxIdleKeepsNothing) {
    loopback_pairs net;
    upstream::connection_pool pool(0);
    pool.reset(1);
    note_demand(pool, 1);
    pool.put(0, net.connect(), in_a_minute());
    EXPECT_EQ(pool.idle(0), 0u);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_FALSE(pool.take(0, any_age, always));
}

// A node index the pool does not know (a stale session after a reload) parks nothing and takes nothing.
TEST(ConnectionPool, UnknownNodeParksNothing) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(2);
    note_demand(pool, 2);
    pool.put(2, net.connect(), in_a_minute());
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_EQ(pool.idle(2), 0u);
    EXPECT_FALSE(pool.take(2, any_age, always));
    EXPECT_FALSE(pool.take(99, any_age, always));
}

// The periodic expire() closes exactly the connections whose expiry has passed, in every node.
TEST(ConnectionPool, ExpireClosesOnlyExpiredConnections) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(2);
    note_demand(pool, 2);
    const auto now = util::coarse_now_ms();
    pool.put(0, net.connect(), now + 100);    // servers[0]
    pool.put(0, net.connect(), now + 5000);   // servers[1]
    pool.put(1, net.connect(), now + 200);    // servers[2]
    pool.expire(now + 200);
    EXPECT_EQ(pool.idle(0), 1u);
    EXPECT_EQ(pool.idle(1), 0u);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_TRUE(closed_by_pool(net.servers[2]));
    EXPECT_TRUE(still_open(net.servers[1]));
    pool.expire(now + 5000);
    EXPECT_EQ(pool.idle(0), 0u);
    EXPECT_TRUE(closed_by_pool(net.servers[1]));
}

// An expired newest connection is closed on the way and the next one is handed out.
TEST(ConnectionPool, TakeSkipsAnExpiredNewestConnection) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    note_demand(pool, 1);
    auto valid = net.connect();
    const auto valid_port = local_port(valid);
    pool.put(0, std::move(valid), in_a_minute());
    pool.put(0, net.connect(), util::coarse_now_ms() - 1);
    auto taken = pool.take(0, any_age, always);
    ASSERT_TRUE(taken);
    EXPECT_EQ(local_port(*taken), valid_port);
    EXPECT_TRUE(closed_by_pool(net.servers[1]));
    EXPECT_EQ(pool.idle(0), 0u);
}

// A new node list: node 0's connections move to index 1, node 1's (a node that is gone) are closed.
TEST(ConnectionPool, RemapMovesKeptNodesAndClosesRemovedOnes) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(2);
    note_demand(pool, 2);
    auto kept = net.connect();
    const auto kept_port = local_port(kept);
    pool.put(0, std::move(kept), in_a_minute());
    pool.put(1, net.connect(), in_a_minute());
    pool.remap({1, 5}, 2);  // old 0 -> new 1, old 1 -> out of range (removed)
    EXPECT_EQ(pool.idle(0), 0u);
    EXPECT_EQ(pool.idle(1), 1u);
    EXPECT_TRUE(closed_by_pool(net.servers[1]));
    EXPECT_TRUE(still_open(net.servers[0]));
    auto taken = pool.take(1, any_age, always);
    ASSERT_TRUE(taken);
    EXPECT_EQ(local_port(*taken), kept_port);
}

// reset() (new endpoints) and clear() (shutdown) close every idle connection.
TEST(ConnectionPool, ResetAndClearCloseEverything) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(2);
    note_demand(pool, 2);
    pool.put(0, net.connect(), in_a_minute());
    pool.put(1, net.connect(), in_a_minute());
    pool.reset(3);
    note_demand(pool, 3);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_TRUE(closed_by_pool(net.servers[1]));
    EXPECT_EQ(pool.idle(0) + pool.idle(1) + pool.idle(2), 0u);
    pool.put(2, net.connect(), in_a_minute());
    EXPECT_EQ(pool.idle(2), 1u);
    pool.clear();
    EXPECT_EQ(pool.idle(2), 0u);
    EXPECT_TRUE(closed_by_pool(net.servers[2]));
}

// The peek check on its own: quiet is usable; stray bytes, an end of stream or a reset are not.
TEST(ConnectionPool, StillOpenAndQuiet) {
    loopback_pairs net;
    upstream::node_stream quiet_one{net.connect()};
    EXPECT_TRUE(upstream::still_open_and_quiet(quiet_one));
    upstream::node_stream talkative{net.connect()};
    net::write(net.servers[1], net::buffer(std::string_view("x")));
    ASSERT_TRUE(readable_within(talkative.socket().native_handle(), std::chrono::seconds(2)));
    EXPECT_FALSE(upstream::still_open_and_quiet(talkative));
    EXPECT_FALSE(upstream::still_open_and_quiet(talkative)) << "the peek must not consume the byte";
    upstream::node_stream finished{net.connect()};
    net.servers[2].shutdown(tcp::socket::shutdown_send);
    ASSERT_TRUE(readable_within(finished.socket().native_handle(), std::chrono::seconds(2)));
    EXPECT_FALSE(upstream::still_open_and_quiet(finished));
    upstream::node_stream reset{net.connect()};
    net.servers[3].set_option(net::socket_base::linger(true, 0));
    net.servers[3].close();  // linger 0: an RST
    ASSERT_TRUE(readable_within(reset.socket().native_handle(), std::chrono::seconds(2)));
    EXPECT_FALSE(upstream::still_open_and_quiet(reset));
}

// Without a cap the pool keeps as many idle connections as were in use at once recently (a cap of 32 would have
// closed most of these 100), and no more: the 101st parked closes the oldest.
TEST(ConnectionPool, KeepsWhatRecentDemandUsed) {
    loopback_pairs net;
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 101; ++i) sockets.push_back(net.connect());
    upstream::connection_pool pool(upstream::pool_limits{});
    pool.reset(1);
    pool.note_in_use(0, 100);
    for (auto& s : sockets) pool.put(0, std::move(s), in_a_minute());
    EXPECT_EQ(pool.idle(0), 100u);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_TRUE(still_open(net.servers[100]));
    EXPECT_EQ(pool.closed()[static_cast<std::size_t>(metrics::idle_close::surplus)], 1u);
}

// Once demand falls, each tick closes part of the surplus, oldest first, down to what is still used.
TEST(ConnectionPool, ExpireTrimsTheSurplusGradually) {
    loopback_pairs net;
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 40; ++i) sockets.push_back(net.connect());
    upstream::connection_pool pool(upstream::pool_limits{.demand_span_ms = 1000});
    pool.reset(1);
    pool.note_in_use(0, 40);
    for (auto& s : sockets) pool.put(0, std::move(s), util::coarse_now_ms() + 60000);
    const auto now = util::coarse_now_ms();
    pool.expire(now);
    EXPECT_EQ(pool.idle(0), 40u) << "still in demand";
    pool.expire(now + 5000);  // nothing in use for two spans
    EXPECT_EQ(pool.idle(0), 30u) << "a quarter of the surplus per tick";
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
    EXPECT_TRUE(still_open(net.servers[39]));
    for (int tick = 0; tick < 100 && pool.idle(0) > 0; ++tick) pool.expire(now + 5000);
    EXPECT_EQ(pool.idle(0), 0u);
    EXPECT_EQ(pool.closed()[static_cast<std::size_t>(metrics::idle_close::surplus)], 40u);
}

// The worker's cap holds over all nodes together: a node at its share closes its oldest, a node without idle
// connections closes the one it parks.
TEST(ConnectionPool, WorkerCapBoundsAllNodesTogether) {
    loopback_pairs net;
    upstream::connection_pool pool(upstream::pool_limits{.per_worker = 3});
    pool.reset(2);
    note_demand(pool, 2);
    for (int i = 0; i < 3; ++i) pool.put(0, net.connect(), in_a_minute());
    pool.put(1, net.connect(), in_a_minute());  // servers[3]
    EXPECT_EQ(pool.idle(0) + pool.idle(1), 3u);
    EXPECT_EQ(pool.idle(1), 0u);
    EXPECT_TRUE(closed_by_pool(net.servers[3]));
    pool.put(0, net.connect(), in_a_minute());  // servers[4] replaces the oldest of node 0
    EXPECT_EQ(pool.idle(0), 3u);
    EXPECT_TRUE(closed_by_pool(net.servers[0]));
}

// Closes are counted by reason: expired (timeout) and refused by the usability check (unusable).
TEST(ConnectionPool, CountsClosesByReason) {
    loopback_pairs net;
    upstream::connection_pool pool(4);
    pool.reset(1);
    note_demand(pool, 1);
    const auto now = util::coarse_now_ms();
    pool.put(0, net.connect(), now + 60000);
    pool.put(0, net.connect(), now - 1);
    pool.put(0, net.connect(), now + 60000);
    EXPECT_FALSE(pool.take(0, any_age, never));
    const auto& closed = pool.closed();
    EXPECT_EQ(closed[static_cast<std::size_t>(metrics::idle_close::timeout)], 1u);
    EXPECT_EQ(closed[static_cast<std::size_t>(metrics::idle_close::unusable)], 2u);
    EXPECT_EQ(closed[static_cast<std::size_t>(metrics::idle_close::surplus)], 0u);
}
