// eager_write, eager_read_some and read_readiness_guess on real loopback sockets.
#include <gatehouse/proxy/eager_io.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

/// A connected pair of non-blocking TCP sockets on 127.0.0.1.
struct socket_pair {
    net::io_context io;
    tcp::socket a{io}, b{io};
    socket_pair() {
        tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        a.connect(acceptor.local_endpoint());
        acceptor.accept(b);
        a.non_blocking(true);
        b.non_blocking(true);
    }
};

/// Runs `body` as a coroutine on `io` until it ends (bounded: 10 s).
template <class Body>
void run_coroutine(net::io_context& io, Body body) {
    bool done = false;
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        co_await body();
        done = true;
    }, net::detached);
    io.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(done) << "the coroutine did not finish";
}

}  // namespace

// Bytes already waiting are read directly: was_ready is true and the bytes are the ones sent.
TEST(EagerIo, ReadFindsBytesThatAreThere) {
    socket_pair p;
    ASSERT_EQ(net::write(p.a, net::buffer(std::string_view("hello"))), 5u);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loopback delivery
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        char buf[16];
        bool was_ready = false;
        auto [ec, n] = co_await eager_read_some(p.b, net::buffer(buf), was_ready);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(was_ready);
        EXPECT_EQ(std::string_view(buf, n), "hello");
    });
}

// With nothing there yet, the read waits (was_ready false) and completes when the bytes arrive.
TEST(EagerIo, ReadWaitsForBytesThatAreNotThereYet) {
    socket_pair p;
    net::steady_timer later(p.io);
    later.expires_after(std::chrono::milliseconds(50));
    later.async_wait([&](error_code) { net::write(p.a, net::buffer(std::string_view("late"))); });
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        char buf[16];
        bool was_ready = true;
        auto [ec, n] = co_await eager_read_some(p.b, net::buffer(buf), was_ready);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_FALSE(was_ready);
        EXPECT_EQ(std::string_view(buf, n), "late");
    });
}

// A closed peer is reported like an asynchronous read reports it (eof), not as "not ready".
TEST(EagerIo, ReadReportsEndOfStream) {
    socket_pair p;
    p.a.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        char buf[16];
        bool was_ready = false;
        auto [ec, n] = co_await eager_read_some(p.b, net::buffer(buf), was_ready);
        EXPECT_EQ(ec, net::error::eof);
        EXPECT_EQ(n, 0u);
        EXPECT_TRUE(was_ready) << "the end of the stream was there to read: no wait was needed";
    });
}

// More than the kernel takes at once (32 MiB in three buffers, the reader draining concurrently): every byte
// arrives once, in order, and the count is right.
TEST(EagerIo, WriteLargerThanSocketBuffersDeliversEverything) {
    socket_pair p;
    std::vector<std::string> parts{std::string(8 << 20, 'x'), std::string(16 << 20, 'y'), std::string(8 << 20, 'z')};
    const std::array<net::const_buffer, 3> buffers{net::buffer(parts[0]), net::buffer(parts[1]), net::buffer(parts[2])};
    std::string received;
    net::co_spawn(p.io, [&]() -> net::awaitable<void> {
        std::vector<char> buf(256 * 1024);
        for (;;) {
            auto [ec, n] = co_await p.b.async_read_some(net::buffer(buf), use_tuple);
            if (ec) co_return;
            received.append(buf.data(), n);
        }
    }, net::detached);
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        auto [ec, n] = co_await eager_write(p.a, buffers);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(n, 32u << 20);
        p.a.shutdown(tcp::socket::shutdown_send);
    });
    p.io.restart();
    p.io.run_for(std::chrono::seconds(10));
    ASSERT_EQ(received.size(), 32u << 20);
    EXPECT_EQ(received, parts[0] + parts[1] + parts[2]);
}

// A write to a reset peer fails with the error, not silently.
TEST(EagerIo, WriteToClosedPeerFails) {
    socket_pair p;
    p.b.set_option(net::socket_base::linger(true, 0));
    p.b.close();  // reset
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        const std::string data(1 << 20, 'x');
        auto [ec, n] = co_await eager_write(p.a, net::buffer(data));
        EXPECT_TRUE(ec);
    });
}

// The guess tries at first; after a run of misses it tries only one read in eight; hits bring it back.
TEST(ReadReadinessGuess, StopsTryingAfterMissesAndComesBackAfterHits) {
    read_readiness_guess g;
    EXPECT_TRUE(g.worth_trying());
    for (int i = 0; i < 20; ++i) g.record(false);
    int tries = 0;
    for (int i = 0; i < 64; ++i) tries += g.worth_trying() ? 1 : 0;
    EXPECT_EQ(tries, 8);
    for (int i = 0; i < 20; ++i) g.record(true);
    for (int i = 0; i < 16; ++i) EXPECT_TRUE(g.worth_trying()) << i;
}

// Half the reads finding bytes is the break-even: mostly-hit keeps trying, mostly-miss stops.
TEST(ReadReadinessGuess, FollowsTheShareOfReadsThatFoundBytes) {
    read_readiness_guess mostly_hits;
    for (int i = 0; i < 100; ++i) mostly_hits.record(i % 4 != 0);  // 75 % found bytes
    EXPECT_TRUE(mostly_hits.worth_trying());
    read_readiness_guess mostly_misses;
    for (int i = 0; i < 100; ++i) mostly_misses.record(i % 4 == 0);  // 25 %
    int tries = 0;
    for (int i = 0; i < 16; ++i) tries += mostly_misses.worth_trying() ? 1 : 0;
    EXPECT_EQ(tries, 2);
}
