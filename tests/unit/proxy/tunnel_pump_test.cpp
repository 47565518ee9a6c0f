// byte_pump on real loopback sockets: bytes both ways, a FIN passed on as a half-close, the end reported once.
#include <gatehouse/proxy/tunnel_pump.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

/// One side of a tunnel: `near` (non-blocking, on the pump's context) connected to `far` (blocking, the test's).
struct tunnel_side {
    tcp::socket near, far;
    tunnel_side(net::io_context& pump_io, net::io_context& test_io) : near(pump_io), far(test_io) {
        tcp::acceptor acceptor(pump_io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        far.connect(acceptor.local_endpoint());
        acceptor.accept(near);
        near.non_blocking(true);
    }
};

/// What a pump reported.
struct record {
    std::size_t writes = 0, moved = 0, ended = 0;
    pump_result result;
};

struct recording_watch {
    record* r;
    void writing() const { ++r->writes; }
    void moved(std::string_view piece) const { r->moved += piece.size(); }
    void ended(const pump_result& result) const {
        ++r->ended;
        r->result = result;
    }
    bool stopped() const { return false; }
};

std::string pattern_of(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

/// Reads from a blocking socket until end of stream (bounded by the socket's peer closing).
std::string read_to_eof(tcp::socket& s) {
    std::string out;
    char buf[65536];
    for (;;) {
        error_code ec;
        const auto n = s.read_some(net::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    return out;
}

class TunnelPump : public ::testing::Test {
protected:
    net::io_context pump_io, test_io;
    tunnel_side client{pump_io, test_io}, node{pump_io, test_io};
    record up, down;  // client -> node, node -> client
    std::thread runner;

    byte_pump<tcp::socket, tcp::socket, recording_watch> to_node{client.near, node.near, recording_watch{&up}};
    byte_pump<tcp::socket, tcp::socket, recording_watch> to_client{node.near, client.near, recording_watch{&down}};
    int done = 0;  // calls of the pumps' completion

    void start() {
        to_node.start([this](const pump_result&) { ++done; });
        to_client.start([this](const pump_result&) { ++done; });
        runner = std::thread([this] { pump_io.run_for(std::chrono::seconds(20)); });  // until both have ended
    }
    void TearDown() override {
        if (runner.joinable()) runner.join();
    }
};

}  // namespace

// Bytes cross both ways (1 MiB more than fills the pieces and the kernel buffers); each side's FIN reaches the other
// as end of stream while the other direction still works; each direction reports its end once.
TEST_F(TunnelPump, RelaysBothWaysAndPassesHalfClose) {
    start();
    const std::string big = pattern_of(1024 * 1024);
    std::thread writer([&] {
        net::write(client.far, net::buffer(big));
        client.far.shutdown(tcp::socket::shutdown_send);  // the client is done sending
    });
    const std::string at_node = read_to_eof(node.far);
    writer.join();
    EXPECT_EQ(at_node.size(), big.size());
    EXPECT_TRUE(at_node == big) << "bytes changed on the way";

    // The node still answers after the client's FIN, then closes in turn.
    net::write(node.far, net::buffer(std::string("still here")));
    node.far.shutdown(tcp::socket::shutdown_send);
    EXPECT_EQ(read_to_eof(client.far), "still here");
    runner.join();

    EXPECT_EQ(up.ended, 1u);
    EXPECT_EQ(up.result.end, pump_end::source_closed);
    EXPECT_EQ(up.result.bytes, big.size());
    EXPECT_EQ(up.moved, big.size());
    EXPECT_GE(up.writes, big.size() / tunnel_piece);
    EXPECT_EQ(down.ended, 1u);
    EXPECT_EQ(down.result.end, pump_end::source_closed);
    EXPECT_EQ(down.result.bytes, 10u);
    EXPECT_EQ(done, 2);
}

// A reset on one side ends its direction as a source failure; a write towards a closed side fails as a
// destination failure.
TEST_F(TunnelPump, ResetIsAFailure) {
    start();
    net::write(client.far, net::buffer(std::string("hello")));
    char buf[5];
    net::read(node.far, net::buffer(buf));
    EXPECT_EQ(std::string(buf, 5), "hello");
    // Reset the node's side: SO_LINGER 0 then close sends RST.
    node.far.set_option(net::socket_base::linger(true, 0));
    node.far.close();
    // The client keeps sending: node -> client sees the reset when it reads; client -> node when it writes.
    for (int i = 0; i < 10; ++i) {
        error_code ec;
        net::write(client.far, net::buffer(std::string(1024, 'x')), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    client.far.close();
    runner.join();
    EXPECT_EQ(down.ended, 1u);
    // The reset is reported once per socket: when client -> node's write sees it first (ECONNRESET or EPIPE), the
    // node side's next read finds only the end of the stream. Which one comes first is the scheduler's choice.
    EXPECT_NE(down.result.end, pump_end::destination_failed) << down.result.ec.message();
    EXPECT_EQ(up.ended, 1u);
    EXPECT_NE(up.result.end, pump_end::source_closed) << up.result.ec.message();
    // Whichever direction met the reset, it ended as a failure, never as two clean closes.
    EXPECT_TRUE(down.result.end == pump_end::source_failed || up.result.end == pump_end::destination_failed)
        << down.result.ec.message() << " / " << up.result.ec.message();
}

// A quiet direction waits without a failed read per message: once a short message went through, its source is
// marked drained (read_drain.hpp), so the next wait is queued without a read attempt. A socket starting unmarked
// (a fresh one) gets there too: the pump's own first read finds it empty and marks it (Asio's speculative read
// could not, and the socket stayed unmarked: one EAGAIN read per message).
TEST_F(TunnelPump, QuietSourceIsMarkedDrainedAfterAMessage) {
    if (!read_drain_enabled()) GTEST_SKIP() << "read_drain is off in this build";
    error_code ec;
    watch_peer_close(client.near, ec);
    ASSERT_FALSE(ec);
    watch_peer_close(node.near, ec);
    ASSERT_FALSE(ec);
    start();
    const auto drained_now = [this] {  // asked on the pump's thread
        std::promise<bool> p;
        net::post(pump_io, [&] { p.set_value(known_drained(client.near)); });
        return p.get_future().get();
    };
    for (int i = 0; i < 3; ++i) {
        net::write(client.far, net::buffer(std::string("ping")));
        char buf[4];
        net::read(node.far, net::buffer(buf));
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        bool drained = drained_now();
        while (!drained && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            drained = drained_now();
        }
        EXPECT_TRUE(drained) << "message " << i << ": the quiet source is not marked drained";
    }
    client.far.shutdown(tcp::socket::shutdown_send);
    node.far.shutdown(tcp::socket::shutdown_send);
    runner.join();
    EXPECT_EQ(up.result.bytes, 12u);
}
