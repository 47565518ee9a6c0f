// Passive health checks: real requests that fail eject a node for a while (Nginx max_fails/fail_timeout,
// Envoy outlier detection). Called by workers; writes only on failure, or on the first success after one.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/model/node_status.hpp>

#include <chrono>
#include <cstdint>

namespace gatehouse::health {

/// Records a failed request to the node. Returns the ejection length when this failure ejects it
/// (max_fails in a row; fail_timeout doubled for each ejection in a row, capped), else 0.
std::chrono::milliseconds report_failure(model::node_status& status, const config::health_check_config& cfg,
                                         std::int64_t now_ms) noexcept;

/// Records a successful request: the failure count starts again (no write when it is already 0).
inline void report_success(model::node_status& status) noexcept {
    if (status.consecutive_failures.load(std::memory_order_relaxed) != 0)
        status.consecutive_failures.store(0, std::memory_order_relaxed);
}

}  // namespace gatehouse::health
