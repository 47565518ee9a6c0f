// Reading node states for one request.
#include <gatehouse/proxy/node_availability.hpp>

namespace gatehouse::proxy {

node_availability assess_nodes(const model::snapshot& snapshot, std::int64_t now_ms, std::span<double> factors) {
    node_availability a;
    a.all_starting = !snapshot.nodes.empty();
    const auto slow_start_ms = snapshot.config->upstream.slow_start.count();
    bool any_taking = false;
    for (const auto& n : snapshot.nodes) {
        if (!n.takes_new_requests) {  // drained, disabled, or another node is pinned: the operator's choice
            a.excluded.set(n.index);
            continue;
        }
        any_taking = true;
        const auto& st = *n.status;
        if (!st.takes_traffic(now_ms)) {
            a.excluded.set(n.index);
            if (st.health.load(std::memory_order_relaxed) != health::node_health::starting) a.all_starting = false;
            continue;
        }
        a.any_ready = true;
        a.all_starting = false;
        if (slow_start_ms > 0 && n.index < factors.size()) {
            const auto since = st.up_since_ms.load(std::memory_order_relaxed);
            double f = 1.0;
            if (since > 0 && now_ms - since < slow_start_ms) {
                f = 0.1 + 0.9 * static_cast<double>(now_ms - since) / static_cast<double>(slow_start_ms);
                a.ramping = true;
            }
            factors[n.index] = f;
        }
    }
    if (!any_taking) a.all_starting = false;
    return a;
}

}  // namespace gatehouse::proxy
