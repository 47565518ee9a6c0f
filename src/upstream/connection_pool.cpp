// Per-worker idle connection pools to the nodes.
#include <gatehouse/upstream/connection_pool.hpp>

#include <gatehouse/util/coarse_clock.hpp>

namespace gatehouse::upstream {

using metrics::idle_close;

void connection_pool::reset(std::size_t nodes) {
    clear();
    nodes_.clear();
    nodes_.resize(nodes);
    set_limits(limits_);
}

void connection_pool::remap(const std::vector<std::size_t>& new_index_of_old, std::size_t nodes) {
    std::vector<node_pool> moved(nodes);
    error_code ignored;
    for (std::size_t o = 0; o < nodes_.size(); ++o) {
        const std::size_t n = o < new_index_of_old.size() ? new_index_of_old[o] : nodes;
        if (n < nodes) {
            moved[n] = std::move(nodes_[o]);
            continue;
        }
        idle_total_ -= nodes_[o].idle.size();
        for (auto& c : nodes_[o].idle) c.socket.close(ignored);
    }
    nodes_ = std::move(moved);
    set_limits(limits_);
}

void connection_pool::set_limits(pool_limits limits) noexcept {
    limits_ = limits;
    for (auto& n : nodes_) n.demand.set_span(limits_.demand_span_ms);
}

void connection_pool::note_in_use(std::size_t node, std::size_t in_use) noexcept {
    if (node < nodes_.size()) nodes_[node].demand.observe(in_use, util::coarse_now_ms());
}

std::size_t connection_pool::limit_of(node_pool& n, std::int64_t now_ms) noexcept {
    return idle_limit(n.demand.peak(now_ms), limits_.per_node);
}

void connection_pool::close_oldest(node_pool& n, idle_close why) noexcept {
    error_code ignored;
    n.idle.front().socket.close(ignored);
    n.idle.pop_front();
    --idle_total_;
    count(why);
}

std::optional<node_stream> connection_pool::take(std::size_t node, std::int64_t max_parked_ms, usable_check usable) {
    if (node >= nodes_.size()) return std::nullopt;
    auto& idle = nodes_[node].idle;
    const auto now = util::coarse_now_ms();
    error_code ignored;
    while (!idle.empty()) {
        auto& newest = idle.back();
        if (newest.expires_ms > now && now - newest.parked_ms > max_parked_ms) return std::nullopt;
        node_stream s = std::move(newest.socket);
        const bool expired = newest.expires_ms <= now;
        idle.pop_back();
        --idle_total_;
        if (!expired && usable(s)) return s;
        s.close(ignored);
        count(expired ? idle_close::timeout : idle_close::unusable);
    }
    return std::nullopt;
}

void connection_pool::put(std::size_t node, node_stream&& socket, std::int64_t expires_ms) {
    error_code ignored;
    if (node >= nodes_.size()) {
        socket.close(ignored);  // a node of an older list (a reload): nothing to count
        return;
    }
    auto& n = nodes_[node];
    const auto now = util::coarse_now_ms();
    const std::size_t limit = limit_of(n, now);
    // The newest connection is the one worth keeping: at the limit, the oldest makes room for it.
    while (!n.idle.empty() && (n.idle.size() >= limit || idle_total_ >= limits_.per_worker))
        close_oldest(n, idle_close::surplus);
    if (limit == 0 || idle_total_ >= limits_.per_worker) {
        socket.close(ignored);
        count(idle_close::surplus);
        return;
    }
    n.idle.push_back({std::move(socket), expires_ms, now});
    ++idle_total_;
}

void connection_pool::expire(std::int64_t now_ms) {
    for (auto& n : nodes_) {
        while (!n.idle.empty() && n.idle.front().expires_ms <= now_ms) close_oldest(n, idle_close::timeout);
        for (std::size_t k = surplus_to_close(n.idle.size(), limit_of(n, now_ms)); k > 0; --k)
            close_oldest(n, idle_close::surplus);
    }
}

void connection_pool::clear() {
    error_code ignored;
    for (auto& n : nodes_) {
        for (auto& c : n.idle) c.socket.close(ignored);
        n.idle.clear();
    }
    idle_total_ = 0;
}

}  // namespace gatehouse::upstream
