// The test support the other integration tests rely on to avoid races: reserved ports, and knowing whether the
// peer has read what was sent.
#include "harness.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

/// A TCP socket on 127.0.0.1:port with SO_REUSEADDR set or not; bind's errno (0 = bound). Closes it unless
/// `keep` receives it.
int bind_loopback(std::uint16_t port, bool reuse_address, int* keep = nullptr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (reuse_address) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int error = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
    if (keep && error == 0) *keep = fd;
    else ::close(fd);
    return error;
}

// While reserved, a port cannot be bound by a socket without SO_REUSEADDR (the kernel skips such ports for
// bind(0) and outgoing connections), nothing accepts on it, and a server with SO_REUSEADDR binds and listens.
TEST(TestSupport, ReservedPortIsHeldButAServerCanListenOnIt) {
    std::uint16_t port = 0;
    {
        reserved_port reserved;
        port = reserved.port();
        ASSERT_NE(port, 0);
        EXPECT_EQ(reserved.address(), "127.0.0.1:" + std::to_string(port));
        EXPECT_EQ(bind_loopback(port, false), EADDRINUSE);
        std::string error;
        EXPECT_LT(connect_loopback(port, &error), 0);
        EXPECT_EQ(error, std::strerror(ECONNREFUSED));

        int server = -1;
        ASSERT_EQ(bind_loopback(port, true, &server), 0);
        ASSERT_EQ(::listen(server, 8), 0);
        const int client = connect_loopback(port);
        EXPECT_GE(client, 0);
        ::close(client);
        ::close(server);

        reserved_port moved = std::move(reserved);
        EXPECT_EQ(moved.port(), port);
        EXPECT_EQ(bind_loopback(port, false), EADDRINUSE) << "a move keeps the reservation";
    }
    EXPECT_EQ(bind_loopback(port, false), 0) << "the port is free again once the reservation ends";
}

// The harness's gatehouse keeps its ports reserved after it stopped, so a test can start another one on the same
// ports (as the metrics-listener tests do) without another process taking them in between.
TEST_F(GatehouseTest, HarnessKeepsTheGatehousePortsAfterItStops) {
    add_upstream("node1");
    auto& gh = start_gatehouse();
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
    gh.signal(SIGTERM);
    ASSERT_EQ(gh.wait_exit(10s), 0);
    EXPECT_EQ(bind_loopback(gh.port(), false), EADDRINUSE);
    EXPECT_EQ(bind_loopback(gh.admin_port(), false), EADDRINUSE);
    gatehouse_process again(gh.config_text(), gh.port(), gh.admin_port());
    EXPECT_EQ(get(again.port(), "/").status, 200u);
}

// unread_by_peer counts what the peer socket has not read yet (in flight or queued) and reaches 0 once it has
// read everything; wait_delivered returns once the bytes are in the peer's receive queue.
TEST(TestSupport, UnreadByPeerFollowsThePeersReads) {
    reserved_port reserved;
    int listener = -1;
    ASSERT_EQ(bind_loopback(reserved.port(), true, &listener), 0);
    ASSERT_EQ(::listen(listener, 8), 0);
    const int client = connect_loopback(reserved.port());
    ASSERT_GE(client, 0);
    const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(server, 0);
    EXPECT_EQ(unread_by_peer(client), 0);
    ASSERT_TRUE(send_all(client, "hello"));
    EXPECT_TRUE(wait_delivered(client, std::chrono::steady_clock::now() + 2s));
    EXPECT_EQ(unread_by_peer(client), 5);
    char buffer[8];
    ASSERT_EQ(::recv(server, buffer, 2, 0), 2);
    EXPECT_EQ(unread_by_peer(client), 3);
    ASSERT_EQ(::recv(server, buffer, sizeof buffer, 0), 3);
    EXPECT_EQ(unread_by_peer(client), 0);
    EXPECT_EQ(unread_by_peer(listener), -1) << "a socket with no peer";
    ::close(server);
    ::close(client);
    ::close(listener);
}

}  // namespace
}  // namespace gatehouse::test
