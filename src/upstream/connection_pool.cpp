// Per-worker idle connection pools to the nodes.
#include <gatehouse/upstream/connection_pool.hpp>

#include <gatehouse/util/coarse_clock.hpp>


namespace gatehouse::upstream {

void connection_pool::reset(std::size_t nodes) {
    clear();
    nodes_.clear();
    nodes_.resize(nodes);
}

void connection_pool::remap(const std::vector<std::size_t>& new_index_of_old, std::size_t nodes) {
    std::vector<std::deque<idle_connection>> moved(nodes);
    error_code ignored;
    for (std::size_t o = 0; o < nodes_.size(); ++o) {
        const std::size_t n = o < new_index_of_old.size() ? new_index_of_old[o] : nodes;
        if (n < nodes) {
            moved[n] = std::move(nodes_[o]);
        } else {
            for (auto& c : nodes_[o]) c.socket.close(ignored);
        }
    }
    nodes_ = std::move(moved);
}

std::optional<node_stream> connection_pool::take(std::size_t node, std::int64_t max_parked_ms, usable_check usable) {
    if (node >= nodes_.size()) return std::nullopt;
    auto& idle = nodes_[node];
    const auto now = util::coarse_now_ms();
    error_code ignored;
    while (!idle.empty()) {
        auto& newest = idle.back();
        if (newest.expires_ms > now && now - newest.parked_ms > max_parked_ms) return std::nullopt;
        node_stream s = std::move(newest.socket);
        const bool expired = newest.expires_ms <= now;
        idle.pop_back();
        if (!expired && usable(s)) return s;
        s.close(ignored);
    }
    return std::nullopt;
}

void connection_pool::put(std::size_t node, node_stream&& socket, std::int64_t expires_ms) {
    error_code ignored;
    if (node >= nodes_.size() || max_idle_ == 0) {
        socket.close(ignored);
        return;
    }
    auto& idle = nodes_[node];
    if (idle.size() >= max_idle_) {
        idle.front().socket.close(ignored);
        idle.pop_front();
    }
    idle.push_back({std::move(socket), expires_ms, util::coarse_now_ms()});
}

void connection_pool::expire(std::int64_t now_ms) {
    error_code ignored;
    for (auto& idle : nodes_) {
        while (!idle.empty() && idle.front().expires_ms <= now_ms) {
            idle.front().socket.close(ignored);
            idle.pop_front();
        }
    }
}

void connection_pool::clear() {
    error_code ignored;
    for (auto& idle : nodes_) {
        for (auto& c : idle) c.socket.close(ignored);
        idle.clear();
    }
}

}  // namespace gatehouse::upstream
