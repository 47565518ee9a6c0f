// The fast-changing state of one node, shared by the control thread and every worker through atomics.
#pragma once

#include <gatehouse/model/node_health.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace gatehouse::model {

/// Written by the health checker (control thread) and, for passive ejection, by workers on failures only;
/// read by workers on every request with relaxed loads (no write on the success path).
struct node_status {
    std::atomic<node_health> health{node_health::unknown};
    std::atomic<std::int64_t> ejected_until_ms{0};     ///< passive ejection ends (coarse clock)
    std::atomic<std::uint32_t> consecutive_failures{0}; ///< failed proxied requests in a row
    std::atomic<std::uint32_t> ejections{0};           ///< ejections in a row (doubles fail_timeout)
    std::atomic<std::int64_t> up_since_ms{0};          ///< when the node last came back up (slow start); 0 = never

    /// True when new requests may go to this node at `now_ms`.
    bool takes_traffic(std::int64_t now_ms) const noexcept {
        return health.load(std::memory_order_relaxed) == node_health::up &&
               ejected_until_ms.load(std::memory_order_relaxed) <= now_ms;
    }
};

using node_status_ptr = std::shared_ptr<node_status>;

}  // namespace gatehouse::model
