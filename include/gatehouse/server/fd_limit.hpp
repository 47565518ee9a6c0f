// The file-descriptor limit (RLIMIT_NOFILE): raised to the hard limit at start, and what a configuration may need.
#pragma once

#include <gatehouse/config/config.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace gatehouse::server {

/// The soft and hard RLIMIT_NOFILE of this process (RLIM_INFINITY as UINT64_MAX).
struct fd_limits {
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

/// What raise_fd_limit() did.
struct fd_limit_raise {
    fd_limits before;
    fd_limits after;
    int error = 0;  ///< errno of a failed getrlimit/setrlimit, 0 when it worked
};

/// This process's limits now.
fd_limits current_fd_limits() noexcept;

/// Raises the soft limit to the hard limit (as HAProxy does): a worker at limits.max_connections holds a client
/// socket and a node socket per connection, far above the usual soft limit of 1024.
fd_limit_raise raise_fd_limit() noexcept;

/// The start-up log line for `r`.
std::string describe(const fd_limit_raise& r);

/// Descriptors gatehouse may hold at its limits: per worker, a client socket and a node socket for each of
/// limits.max_connections, plus the idle node connections (at most limits.max_connections, or upstream.keepalive
/// per node when that is lower); plus fd_limit_margin for listeners, event loops, the admin API, health checks and
/// log files. nullopt when max_connections is 0
/// (unlimited: no bound to compare). `cores` resolves proxy.workers = 0.
std::optional<std::uint64_t> descriptors_needed(const config::config& c, unsigned cores) noexcept;

/// Descriptors beyond the per-connection ones (listeners, epoll, timers, admin, health checks, logs).
constexpr std::uint64_t fd_limit_margin = 100;

/// The warning `gatehouse check` prints when the configuration may need more descriptors than `limit` (the hard
/// limit, which serve raises the soft limit to); nullopt when it fits or has no bound.
std::optional<std::string> fd_limit_warning(const config::config& c, unsigned cores, std::uint64_t limit);

}  // namespace gatehouse::server
