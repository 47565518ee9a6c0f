// Small blocking-socket helpers and port reservations for the test support code (loopback only).
#include "socket_util.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <cstdio>
#include <fstream>
#include <linux/sockios.h>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace gatehouse::test {

reserved_port::reserved_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("reserved_port: socket: ") + std::strerror(errno));
    const int one = 1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string error = std::strerror(errno);
        ::close(fd_);
        throw std::runtime_error("reserved_port: " + error);
    }
    port_ = ntohs(addr.sin_port);
}

reserved_port::~reserved_port() {
    if (fd_ >= 0) ::close(fd_);
}

reserved_port::reserved_port(reserved_port&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(std::exchange(other.port_, 0)) {}

reserved_port& reserved_port::operator=(reserved_port&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        port_ = std::exchange(other.port_, 0);
    }
    return *this;
}

std::string reserved_port::address() const { return "127.0.0.1:" + std::to_string(port_); }

int millis_until(std::chrono::steady_clock::time_point deadline) noexcept {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    if (left.count() > 1'000'000'000) return 1'000'000'000;
    return static_cast<int>(left.count());
}

int connect_loopback(std::uint16_t port, std::string* error) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (error) *error = std::strerror(errno);
        return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc;
    do {
        rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (error) *error = std::strerror(errno);
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool send_all(int fd, const char* data, std::size_t size) noexcept {
    while (size > 0) {
        const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

namespace {

/// An IPv4 socket address as /proc/net/tcp shows it: "0100007F:1F90" (the address as the kernel stores it).
std::string proc_net_address(const sockaddr_in& a) {
    char text[16];
    std::snprintf(text, sizeof text, "%08X:%04X", static_cast<unsigned>(a.sin_addr.s_addr),
                  static_cast<unsigned>(ntohs(a.sin_port)));
    return text;
}

/// SIOCOUTQ: bytes sent on `fd` and not yet acknowledged; -1 on error.
long unacknowledged(int fd) noexcept {
    int n = 0;
    return ::ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

}  // namespace

long unread_by_peer(int fd) {
    sockaddr_in local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 || local.sin_family != AF_INET)
        return -1;
    const long in_flight = unacknowledged(fd);
    if (in_flight < 0) return -1;
    // The peer's row: its local address is our peer, its remote address is us; state 01 = ESTABLISHED.
    const std::string wanted = proc_net_address(peer) + " " + proc_net_address(local) + " 01 ";
    std::ifstream table("/proc/net/tcp");
    std::string line;
    while (std::getline(table, line)) {
        const auto at = line.find(wanted);
        if (at == std::string::npos) continue;
        // "... tx_queue:rx_queue ..." follows the state, both in hex.
        const auto queues = line.substr(at + wanted.size());
        const auto colon = queues.find(':');
        if (colon == std::string::npos) return -1;
        return in_flight + std::strtol(queues.c_str() + colon + 1, nullptr, 16);
    }
    return -1;
}

bool wait_delivered(int fd, std::chrono::steady_clock::time_point deadline) noexcept {
    for (;;) {
        const long n = unacknowledged(fd);
        if (n == 0) return true;
        if (n < 0 || std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) noexcept {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        const int rc = ::poll(&p, 1, millis_until(deadline));
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) return true;  // let the caller's read report the error
    }
}

}  // namespace gatehouse::test
