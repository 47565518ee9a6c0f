// The sizing policy of the idle node-connection pool (pure: no sockets, no clock of its own).
#include <gatehouse/upstream/pool_sizing.hpp>

#include <algorithm>

namespace gatehouse::upstream {

void recent_peak::rotate(std::int64_t now_ms) noexcept {
    const std::int64_t elapsed = now_ms - bucket_start_ms_;
    if (elapsed < span_ms_) return;
    // One span passed: the current bucket becomes the previous one. Two or more: both are stale.
    const bool adjacent = elapsed < 2 * span_ms_;
    previous_ = adjacent ? current_ : 0;
    current_ = 0;
    bucket_start_ms_ = adjacent ? bucket_start_ms_ + span_ms_ : now_ms;
}

void recent_peak::observe(std::size_t value, std::int64_t now_ms) noexcept {
    rotate(now_ms);
    current_ = std::max(current_, value);
}

std::size_t recent_peak::peak(std::int64_t now_ms) noexcept {
    rotate(now_ms);
    return std::max(current_, previous_);
}

pool_limits pool_limits_of(const config::config& c) noexcept {
    pool_limits out;
    if (c.upstream.keepalive) out.per_node = *c.upstream.keepalive;
    if (c.limits.max_connections != 0 && c.limits.max_connections < no_cap) out.per_worker = c.limits.max_connections;
    out.demand_span_ms = std::max<std::int64_t>(1, c.timeouts.upstream_idle.count() / 2);
    return out;
}

std::size_t idle_limit(std::size_t recent_peak_in_use, std::size_t cap) noexcept {
    return std::min(recent_peak_in_use, cap);
}

std::size_t surplus_to_close(std::size_t idle, std::size_t limit) noexcept {
    if (idle <= limit) return 0;
    const std::size_t surplus = idle - limit;
    return std::max<std::size_t>(1, surplus / 4);
}

}  // namespace gatehouse::upstream
