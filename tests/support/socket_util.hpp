// Small blocking-socket helpers shared by the test support code (loopback only).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::test {

/// A port of 127.0.0.1 held for a test while this object lives: a socket bound to it with SO_REUSEADDR that
/// never listens. No bind to port 0 and no outgoing connection on this machine can be given that port meanwhile,
/// but a server that sets SO_REUSEADDR (gatehouse, the demo node, test_upstream) binds and listens on it. With
/// nothing listening, a connection to it is refused: it is also the address of a node that is down.
class reserved_port {
public:
    reserved_port();  ///< throws std::runtime_error when no port can be bound
    ~reserved_port();
    reserved_port(reserved_port&& other) noexcept;
    reserved_port& operator=(reserved_port&& other) noexcept;
    reserved_port(const reserved_port&) = delete;
    reserved_port& operator=(const reserved_port&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1:<port>"
    std::string address() const;

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

/// Milliseconds left until `deadline` (never negative).
int millis_until(std::chrono::steady_clock::time_point deadline) noexcept;

/// Opens a TCP socket connected to 127.0.0.1:port (blocking, CLOEXEC, TCP_NODELAY). Returns -1 and sets
/// `error` on failure (errno text).
int connect_loopback(std::uint16_t port, std::string* error = nullptr);

/// Sends every byte (MSG_NOSIGNAL). False on error (EPIPE, ECONNRESET, ...).
bool send_all(int fd, const char* data, std::size_t size) noexcept;
inline bool send_all(int fd, std::string_view s) noexcept { return send_all(fd, s.data(), s.size()); }

/// Bytes sent on the connected loopback socket `fd` that the peer (another socket of this machine) has not read
/// yet: those it has not acknowledged (SIOCOUTQ) plus those waiting in its receive queue (its rx_queue in
/// /proc/net/tcp). -1 when the peer socket cannot be found. 0 means the peer's program has read every byte.
long unread_by_peer(int fd);

/// Waits (polling every millisecond, at most until `deadline`) until the peer of `fd` has acknowledged every byte
/// sent on it, i.e. they are in the peer's receive queue. False on timeout.
bool wait_delivered(int fd, std::chrono::steady_clock::time_point deadline) noexcept;

/// Waits until `fd` is readable (data, EOF or error) or the deadline passes. True when readable.
bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) noexcept;

}  // namespace gatehouse::test
