// Raising RLIMIT_NOFILE at start, and comparing a configuration's needs with it.
#include <gatehouse/server/fd_limit.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace gatehouse::server {
namespace {

std::uint64_t as_count(rlim_t v) noexcept {
    return v == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(v);
}

std::string as_text(std::uint64_t v) {
    return v == std::numeric_limits<std::uint64_t>::max() ? "unlimited" : std::to_string(v);
}

}  // namespace

fd_limits current_fd_limits() noexcept {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return {};
    return {as_count(l.rlim_cur), as_count(l.rlim_max)};
}

fd_limit_raise raise_fd_limit() noexcept {
    fd_limit_raise r;
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) {
        r.error = errno;
        return r;
    }
    r.before = r.after = {as_count(l.rlim_cur), as_count(l.rlim_max)};
    if (l.rlim_cur == l.rlim_max) return r;
    l.rlim_cur = l.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &l) != 0) r.error = errno;
    r.after = current_fd_limits();
    return r;
}

std::string describe(const fd_limit_raise& r) {
    if (r.error != 0 && r.before.hard == 0)
        return std::string("file descriptors: cannot read the limit: ") + std::strerror(r.error);
    if (r.error != 0)
        return "file descriptors: cannot raise the soft limit " + as_text(r.before.soft) + " to the hard limit " +
               as_text(r.before.hard) + ": " + std::strerror(r.error);
    if (r.before.soft == r.after.soft) return "file descriptors: limit " + as_text(r.after.soft) + " (the hard limit)";
    return "file descriptors: soft limit raised from " + as_text(r.before.soft) + " to " + as_text(r.after.soft) +
           " (the hard limit)";
}

std::optional<std::uint64_t> descriptors_needed(const config::config& c, unsigned cores) noexcept {
    if (c.limits.max_connections == 0) return std::nullopt;
    const std::uint64_t workers = c.proxy.workers != 0 ? c.proxy.workers : (cores != 0 ? cores : 1);
    // Idle node connections: never more than max_connections per worker; upstream.keepalive per node may cap lower.
    const std::uint64_t pooled =
        c.upstream.keepalive ? std::min<std::uint64_t>(std::uint64_t{*c.upstream.keepalive} * c.upstream.nodes.size(),
                                                       c.limits.max_connections)
                             : c.limits.max_connections;
    std::uint64_t per_worker = 0, total = 0;
    // Saturating: an absurd max_connections must give "too many", not a wrapped small number.
    if (__builtin_mul_overflow(c.limits.max_connections, 2, &per_worker) ||
        __builtin_add_overflow(per_worker, pooled, &per_worker) || __builtin_mul_overflow(per_worker, workers, &total) ||
        __builtin_add_overflow(total, fd_limit_margin, &total))
        return std::numeric_limits<std::uint64_t>::max();
    return total;
}

std::optional<std::string> fd_limit_warning(const config::config& c, unsigned cores, std::uint64_t limit) {
    const auto needed = descriptors_needed(c, cores);
    if (!needed || *needed <= limit) return std::nullopt;
    return "limits.max_connections = " + std::to_string(c.limits.max_connections) + " per worker may need " +
           std::to_string(*needed) + " file descriptors (a client and a node socket per connection, idle node " +
           "connections, " + std::to_string(fd_limit_margin) + " more for listeners and the like), above the hard " +
           "limit " + std::to_string(limit) + " (RLIMIT_NOFILE; gatehouse serve raises its soft limit to it): " +
           "raise it (systemd LimitNOFILE=) or lower limits.max_connections";
}

}  // namespace gatehouse::server
