// sd_notify (Type=notify): READY=1 only once the listeners accept and every node had its first health check,
// RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 at the graceful stop, WATCHDOG=1 pings.
#include "harness.hpp"

#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

/// The socket systemd would listen on: a datagram socket named by NOTIFY_SOCKET, set in this process's environment
/// (which gatehouse_process passes on) for as long as the object lives.
class notify_socket {
public:
    explicit notify_socket(const std::string& path, const char* watchdog_usec = nullptr) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, sizeof a.sun_path - 1);
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        if (watchdog_usec) ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
    }
    ~notify_socket() {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::close(fd_);
    }
    bool bound() const { return bound_; }

    /// The next message, waiting at most `timeout`; "" when none came.
    std::string next(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
        char buffer[4096];
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }

    /// Waits (at most `timeout` in all) for a message containing `needle`; the messages before it go to `skipped`.
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout, std::string* skipped = nullptr) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            const auto m = next(std::max(left, std::chrono::milliseconds(1)));
            if (m.find(needle) != std::string::npos) return true;
            if (skipped) *skipped += m + "|";
        }
        return false;
    }

private:
    int fd_ = -1;
    bool bound_ = false;
};

class SystemdNotify : public GatehouseTest {};

// READY=1 comes only after each node's first health check, with the proxy accepting; a SIGHUP reload is bracketed by
// RELOADING=1 and READY=1; SIGTERM sends STOPPING=1 before the process exits.
TEST_F(SystemdNotify, ReadyAfterFirstHealthRoundReloadingAndStopping) {
    // The environment changes before any thread of this test starts (setenv is not thread-safe).
    notify_socket sd(scratch_dir() + "/notify");
    ASSERT_TRUE(sd.bound());
    auto& n1 = add_upstream("node1");
    auto& n2 = add_upstream("node2");
    gatehouse_options o;
    o.health_check = {{"enabled", "true"}, {"interval", "\"200ms\""}};
    auto& g = start_gatehouse(o);
    ASSERT_TRUE(sd.wait_for("READY=1", 10s)) << g.log();
    EXPECT_GE(n1.health_checks(), 1u);
    EXPECT_GE(n2.health_checks(), 1u);
    EXPECT_EQ(get(g.port(), "/").status, 200u);

    g.signal(SIGHUP);
    std::string before;
    ASSERT_TRUE(sd.wait_for("RELOADING=1", 10s, &before)) << before << g.log();
    EXPECT_TRUE(sd.wait_for("READY=1", 10s)) << g.log();

    g.signal(SIGTERM);
    EXPECT_TRUE(sd.wait_for("STOPPING=1", 10s)) << g.log();
    EXPECT_EQ(g.wait_exit(20s), 0);
}

// With WATCHDOG_USEC set (systemd's WatchdogSec=), the control loop pings WATCHDOG=1 every half period.
TEST_F(SystemdNotify, PingsTheWatchdog) {
    notify_socket sd(scratch_dir() + "/notify", "400000");
    ASSERT_TRUE(sd.bound());
    add_upstream("node1");
    auto& g = start_gatehouse();
    ASSERT_TRUE(sd.wait_for("READY=1", 10s)) << g.log();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(sd.wait_for("WATCHDOG=1", 5s)) << "ping " << i << "\n" << g.log();
}

}  // namespace
}  // namespace gatehouse::test
