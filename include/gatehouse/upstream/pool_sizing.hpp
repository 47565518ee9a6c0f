// How many idle connections a worker keeps to a node: what recent concurrency used, within the operator's caps.
#pragma once

#include <gatehouse/config/config.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace gatehouse::upstream {

/// No cap (upstream.keepalive unset: the pool is sized by demand alone).
inline constexpr std::size_t no_cap = std::numeric_limits<std::size_t>::max();

/// What bounds the idle connections of one worker's pool.
struct pool_limits {
    std::size_t per_node = no_cap;        ///< upstream.keepalive: at most this many per node; 0 = no reuse
    std::size_t per_worker = no_cap;      ///< all nodes together (limits.max_connections; no_cap when unlimited)
    std::int64_t demand_span_ms = 1500;   ///< recent demand = the peak in use over 1 to 2 such spans
};

/// The limits a configuration sets: upstream.keepalive (unset: no cap), limits.max_connections for the worker
/// (0: no cap), half of timeouts.upstream_idle as the demand span (the peak then covers 0.5 to 1 x upstream_idle).
pool_limits pool_limits_of(const config::config& c) noexcept;

/// The highest value observed over a recent stretch of time: at least the last `span_ms`, at most the last
/// 2 x `span_ms` (two buckets that take turns). Pure: the caller passes the time.
class recent_peak {
public:
    explicit recent_peak(std::int64_t span_ms = 1500) noexcept : span_ms_(span_ms > 0 ? span_ms : 1) {}

    void set_span(std::int64_t span_ms) noexcept { span_ms_ = span_ms > 0 ? span_ms : 1; }
    /// Records `value` seen at `now_ms`.
    void observe(std::size_t value, std::int64_t now_ms) noexcept;
    /// The peak of what was observed recently (0 when nothing was, or only long ago).
    std::size_t peak(std::int64_t now_ms) noexcept;

private:
    void rotate(std::int64_t now_ms) noexcept;

    std::int64_t span_ms_;
    std::int64_t bucket_start_ms_ = std::numeric_limits<std::int64_t>::min() / 2;
    std::size_t current_ = 0;
    std::size_t previous_ = 0;
};

/// Idle connections a worker keeps to one node: the most it had in use at once recently (`recent_peak`; an idle
/// connection beyond that would not have been needed), at most the operator's `cap` (upstream.keepalive).
std::size_t idle_limit(std::size_t recent_peak_in_use, std::size_t cap) noexcept;

/// How many of a node's `idle` connections the periodic tick closes when `limit` allows fewer: a quarter of the
/// surplus (at least one), so demand that comes back a moment later still finds most of them.
std::size_t surplus_to_close(std::size_t idle, std::size_t limit) noexcept;

}  // namespace gatehouse::upstream
