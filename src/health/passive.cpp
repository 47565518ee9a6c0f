// Passive ejection with doubling backoff.
#include <gatehouse/health/passive.hpp>

#include <algorithm>

namespace gatehouse::health {

std::chrono::milliseconds report_failure(model::node_status& status, const config::health_check_config& cfg,
                                         std::int64_t now_ms) noexcept {
    if (cfg.max_fails == 0) return {};
    // A node that says it is starting is not failing: active checks keep it out without backoff.
    if (status.health.load(std::memory_order_relaxed) == model::node_health::starting) return {};
    if (status.ejected_until_ms.load(std::memory_order_relaxed) > now_ms) return {};  // already out
    const auto failures = status.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (failures < cfg.max_fails) return {};
    status.consecutive_failures.store(0, std::memory_order_relaxed);
    const auto previous = status.ejections.fetch_add(1, std::memory_order_relaxed);
    auto length = cfg.fail_timeout;
    for (std::uint32_t i = 0; i < previous && length < cfg.fail_timeout_max; ++i) length *= 2;
    length = std::min(length, cfg.fail_timeout_max);
    status.ejected_until_ms.store(now_ms + length.count(), std::memory_order_relaxed);
    return length;
}

}  // namespace gatehouse::health
