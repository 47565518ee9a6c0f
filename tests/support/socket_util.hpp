// Small blocking-socket helpers shared by the test support code (loopback only).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::test {

/// Milliseconds left until `deadline` (never negative).
int millis_until(std::chrono::steady_clock::time_point deadline) noexcept;

/// Opens a TCP socket connected to 127.0.0.1:port (blocking, CLOEXEC, TCP_NODELAY). Returns -1 and sets
/// `error` on failure (errno text).
int connect_loopback(std::uint16_t port, std::string* error = nullptr);

/// Sends every byte (MSG_NOSIGNAL). False on error (EPIPE, ECONNRESET, ...).
bool send_all(int fd, const char* data, std::size_t size) noexcept;
inline bool send_all(int fd, std::string_view s) noexcept { return send_all(fd, s.data(), s.size()); }

/// Waits until `fd` is readable (data, EOF or error) or the deadline passes. True when readable.
bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) noexcept;

}  // namespace gatehouse::test
