// eager_write, read_some_unless_drained and the drained mark (read_drain) on real loopback sockets.
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::proxy;

/// Tests of the mark itself mean nothing in a build without it (GATEHOUSE_READ_DRAIN=OFF).
#define SKIP_WITHOUT_READ_DRAIN() \
    if (!read_drain_compiled_in()) GTEST_SKIP() << "built with GATEHOUSE_READ_DRAIN=OFF"

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
        error_code ec;
        watch_peer_close(b, ec);
        EXPECT_FALSE(ec) << ec.message();
    }
};

/// Runs `body` as a coroutine on `io` until it ends (bounded: `limit`).
template <class Body>
void run_coroutine(net::io_context& io, Body body, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    bool done = false;
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        co_await body();
        done = true;
    }, net::detached);
    io.run_for(limit);
    ASSERT_TRUE(done) << "the coroutine did not finish";
}

/// What one read_some_unless_drained of up to 16 bytes returned.
struct read_result {
    error_code ec;
    std::string text;
};

net::awaitable<read_result> read_up_to_16(tcp::socket& socket) {
    char buf[16];
    auto [ec, n] = co_await read_some_unless_drained(socket, net::buffer(buf));
    co_return read_result{ec, std::string(buf, n)};
}

/// From inside a coroutine: a pass through the event loop (a 20 ms wait), in which it takes pending readiness events.
net::awaitable<void> pass_through_loop(tcp::socket& socket) {
    net::steady_timer pause(socket.get_executor());
    pause.expires_after(std::chrono::milliseconds(20));
    co_await pause.async_wait(use_tuple);
}

/// From outside: runs `io` for a 20 ms wait, in which the loop takes pending readiness events; `io` can run again.
void run_loop_briefly(net::io_context& io) {
    net::steady_timer pause(io);
    pause.expires_after(std::chrono::milliseconds(20));
    pause.async_wait([](error_code) {});
    io.run_for(std::chrono::milliseconds(500));
    io.restart();
}

}  // namespace

// Bytes already waiting are read directly, and a read that got less than it asked for marks the socket drained.
TEST(EagerIo, ReadFindsBytesThatAreThereAndMarksTheSocketDrained) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    ASSERT_EQ(net::write(p.a, net::buffer(std::string_view("hello"))), 5u);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loopback delivery
    EXPECT_FALSE(known_drained(p.b)) << "a new socket is not known to be empty";
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        const auto r = co_await read_up_to_16(p.b);
        EXPECT_FALSE(r.ec) << r.ec.message();
        EXPECT_EQ(r.text, "hello");
        EXPECT_TRUE(known_drained(p.b));
    });
}

// A read that filled its whole buffer may have left bytes behind: the socket is not marked, and the next read
// gets the rest.
TEST(EagerIo, FullReadDoesNotMarkTheSocketDrained) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    ASSERT_EQ(net::write(p.a, net::buffer(std::string_view("0123456789"))), 10u);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        char buf[4];
        auto [ec, n] = co_await read_some_unless_drained(p.b, net::buffer(buf));
        EXPECT_EQ(std::string_view(buf, n), "0123");
        EXPECT_FALSE(known_drained(p.b));
        char rest[16];
        std::tie(ec, n) = co_await read_some_unless_drained(p.b, net::buffer(rest));
        EXPECT_EQ(std::string_view(rest, n), "456789");
        EXPECT_TRUE(known_drained(p.b));
    });
}

// With nothing there yet, the read waits and completes when the bytes arrive.
TEST(EagerIo, ReadWaitsForBytesThatAreNotThereYet) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    net::steady_timer later(p.io);
    later.expires_after(std::chrono::milliseconds(50));
    later.async_wait([&](error_code) { net::write(p.a, net::buffer(std::string_view("late"))); });
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        const auto r = co_await read_up_to_16(p.b);
        EXPECT_FALSE(r.ec) << r.ec.message();
        EXPECT_EQ(r.text, "late");
        EXPECT_TRUE(known_drained(p.b));
    });
}

// The keep-alive pattern: a request read empties the socket, the next one arrives while no read is waiting (its
// readiness event is handled by the loop with nobody to give it to), then the next read starts. The event cleared
// the mark, so that read finds the bytes.
TEST(EagerIo, BytesArrivingBetweenReadsAreFound) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        net::write(p.a, net::buffer(std::string_view("first")));
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "first");
        EXPECT_TRUE(known_drained(p.b));
        net::write(p.a, net::buffer(std::string_view("second")));
        co_await pass_through_loop(p.b);
        EXPECT_FALSE(known_drained(p.b)) << "the readiness event clears the mark";
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "second");
    });
}

// The same, but the next read starts before the loop has taken the event: it is queued and the event performs it.
TEST(EagerIo, BytesArrivingBeforeTheEventIsTakenAreFound) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        net::write(p.a, net::buffer(std::string_view("first")));
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "first");
        net::write(p.a, net::buffer(std::string_view("second")));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // delivered, but the loop has not run
        EXPECT_TRUE(known_drained(p.b));
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "second");
    });
}

// What the mark does inside Asio, and why read_drain.hpp's rule matters: marked drained while bytes wait and their
// event is already spent, an asynchronous read does not try to read them; it waits for the next event.
TEST(EagerIo, MarkStopsAsiosReadAttempt) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    mark_drained(p.b);
    net::write(p.a, net::buffer(std::string_view("x")));
    run_loop_briefly(p.io);  // the loop takes the readiness event; no read is waiting
    ASSERT_FALSE(known_drained(p.b)) << "the readiness event should have cleared the mark";
    mark_drained(p.b);  // wrongly: "x" is there
    std::string got;
    char buf[16];
    p.b.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t n) {
        if (!ec) got.assign(buf, n);
    });
    p.io.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(got, "") << "the read was attempted although the socket was marked drained";
    net::write(p.a, net::buffer(std::string_view("y")));
    p.io.restart();
    p.io.run_for(std::chrono::milliseconds(500));
    EXPECT_EQ(got, "xy") << "the next event performs the queued read";
}

// The peer's last bytes and its close, announced by one event the loop took before the read: the read gets the
// bytes, short, but must not mark the socket (no event will come for the close); the next read sees eof at once.
TEST(EagerIo, CloseThatCameWithTheLastBytesIsNotMissed) {
    SKIP_WITHOUT_READ_DRAIN();
    socket_pair p;
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        net::write(p.a, net::buffer(std::string_view("first")));
        co_await read_up_to_16(p.b);
        EXPECT_TRUE(known_drained(p.b));
        net::write(p.a, net::buffer(std::string_view("bye")));
        p.a.close();
        co_await pass_through_loop(p.b);
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "bye");
        EXPECT_FALSE(known_drained(p.b));
        EXPECT_EQ((co_await read_up_to_16(p.b)).ec, net::error::eof);
    }, std::chrono::seconds(2));
}

// The same when the read was waiting: the event that performs it also reports the close.
TEST(EagerIo, CloseThatCameWithTheBytesAWaitingReadGotIsNotMissed) {
    socket_pair p;
    net::steady_timer later(p.io);
    later.expires_after(std::chrono::milliseconds(50));
    later.async_wait([&](error_code) {
        net::write(p.a, net::buffer(std::string_view("bye")));
        p.a.close();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // both arrive before the loop looks
    });
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        EXPECT_EQ((co_await read_up_to_16(p.b)).text, "bye");
        EXPECT_EQ((co_await read_up_to_16(p.b)).ec, net::error::eof);
    }, std::chrono::seconds(2));
}

// A node socket: marked drained between open and connect, watched for the peer's close through the connect's own
// registration. The answer's bytes and the node's close, arriving together, are both seen.
TEST(EagerIo, ConnectingSocketIsWatchedForCloseThroughTheConnect) {
    SKIP_WITHOUT_READ_DRAIN();
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket node(io), client(io);
    client.open(tcp::v4());
    client.non_blocking(true);
    watch_peer_close_once_connected(client);
    mark_drained(client);
    EXPECT_TRUE(known_drained(client));
    run_coroutine(io, [&]() -> net::awaitable<void> {
        auto [cec] = co_await client.async_connect(acceptor.local_endpoint(), use_tuple);
        EXPECT_FALSE(cec) << cec.message();
        error_code ec;
        watch_peer_close(client, ec);
        EXPECT_FALSE(ec) << ec.message();
        acceptor.accept(node);
        net::write(node, net::buffer(std::string_view("answer")));
        node.close();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_EQ((co_await read_up_to_16(client)).text, "answer");
        EXPECT_EQ((co_await read_up_to_16(client)).ec, net::error::eof);
    }, std::chrono::seconds(2));
}

// A read whose socket could not be marked before it started went Asio's usual way (its own read attempt, whose
// completion may be queued behind the loop): it leaves no mark after it either. Asio hands a new socket the
// reactor state of the socket closed last, with that socket's close event still recorded, so the first read of
// the new socket is such a read.
TEST(EagerIo, ReadStartedUnmarkedLeavesNoMark) {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket old_peer(io), old_socket(io), peer(io), fresh(io);
    old_peer.connect(acceptor.local_endpoint());
    acceptor.accept(old_socket);
    error_code ec;
    watch_peer_close(old_socket, ec);
    old_peer.close();
    run_loop_briefly(io);  // the loop takes old_socket's close event
    peer.connect(acceptor.local_endpoint());
    old_socket.close();  // its reactor state goes back to Asio's pool, close event and all
    acceptor.accept(fresh);
    fresh.non_blocking(true);
    watch_peer_close(fresh, ec);
    mark_drained(fresh);
    ASSERT_FALSE(known_drained(fresh)) << "premise: the new socket reuses a state whose last event was a close";
    net::steady_timer later(io);
    later.expires_after(std::chrono::milliseconds(30));
    later.async_wait([&](error_code) { net::write(peer, net::buffer(std::string_view("x"))); });
    run_coroutine(io, [&]() -> net::awaitable<void> {
        EXPECT_EQ((co_await read_up_to_16(fresh)).text, "x");
        EXPECT_FALSE(known_drained(fresh)) << "marked after a read that Asio attempted on the spot";
    }, std::chrono::seconds(2));
}

// A socket not registered for the peer's close is never marked: its close could be missed.
TEST(EagerIo, SocketNotWatchingForCloseIsNeverMarked) {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io), b(io);
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
    mark_drained(b);
    EXPECT_FALSE(known_drained(b));
}

// A closed peer is reported like an asynchronous read reports it: eof.
TEST(EagerIo, ReadReportsEndOfStream) {
    socket_pair p;
    p.a.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    run_coroutine(p.io, [&]() -> net::awaitable<void> {
        const auto r = co_await read_up_to_16(p.b);
        EXPECT_EQ(r.ec, net::error::eof);
        EXPECT_EQ(r.text.size(), 0u);
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
