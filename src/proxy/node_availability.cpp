// Reading node states for one request.
#include <gatehouse/proxy/node_availability.hpp>

namespace gatehouse::proxy {

node_availability assess_nodes(const model::snapshot& snapshot, std::int64_t now_ms, std::span<double> factors) {
    node_availability a;
    a.all_starting = !snapshot.nodes.empty();
    const auto slow_start_ms = snapshot.config->upstream.slow_start.count();
    bool any_taking = false;
    balancer::node_set up_but_ejected;  // the active checks say up; only passive ejection keeps them out
    balancer::node_set starting;        // say they are starting (NocoBase's 503 "maintaining"), not ejected
    for (const auto& n : snapshot.nodes) {
        if (!n.takes_new_requests) {  // drained, disabled, or another node is pinned: the operator's choice
            a.excluded.set(n.index);
            continue;
        }
        any_taking = true;
        const auto& st = *n.status;
        if (!st.takes_traffic(now_ms)) {
            a.excluded.set(n.index);
            const auto h = st.health.load(std::memory_order_relaxed);
            if (h != model::node_health::starting) a.all_starting = false;
            if (h == model::node_health::up) up_but_ejected.set(n.index);
            if (h == model::node_health::starting && st.ejected_until_ms.load(std::memory_order_relaxed) <= now_ms)
                starting.set(n.index);
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
    // Only when active checks run: without them every node counts as up, and a node that really is dead would then
    // cost every request a failed connect instead of the ejection's quick 503.
    if (!a.any_ready && up_but_ejected.any() && snapshot.config->health_check.enabled) {
        // Every node the active checks call up is ejected by failed requests: a burst of failures during a
        // rolling restart can do that to every node at once. Ejection is a guess from a few requests, the active
        // checks just saw those nodes answer: try them rather than turn every client away (Envoy's panic mode).
        a.excluded &= ~up_but_ejected;
        a.any_ready = true;
        a.all_starting = false;
        a.ejection_ignored = true;
    }
    if (!a.any_ready && starting.any()) {
        // Nobody is up, some node is booting or upgrading: its own answer (NocoBase's 503 with the code, command
        // and progress message its client shows as the upgrade screen) beats one of ours, and a WebSocket opened
        // there hears the "running, refresh" message when the app is ready.
        a.excluded = ~starting;
        a.any_ready = true;
        a.to_starting = true;
    }
    return a;
}

}  // namespace gatehouse::proxy
