// Smooth weighted round-robin: each pick adds every eligible node's weight to its counter, takes the largest
// counter and subtracts the eligible total from it. Weights 5,1,1 give a a b a c a a, never a long run.
#include <gatehouse/balancer/round_robin.hpp>

#include <algorithm>
#include <limits>

namespace gatehouse::balancer {

round_robin::round_robin(std::span<const node_entry> nodes) : current_(nodes.size(), 0) {
    for (const auto& n : nodes) weights_.push_back(std::int64_t(n.weight) * 1000);
}

std::optional<std::size_t> round_robin::pick(const pick_context& ctx) {
    std::int64_t total = 0;
    std::size_t best = weights_.size();
    std::int64_t best_current = std::numeric_limits<std::int64_t>::min();
    const bool scaled = !ctx.weight_factor.empty();
    for (std::size_t i = 0; i < weights_.size(); ++i) {
        if (ctx.excluded.test(i)) continue;
        // Slow start scales a node's weight; weights are kept x1000 so a factor of 0.1 still counts.
        const std::int64_t w =
            scaled ? std::max<std::int64_t>(1, static_cast<std::int64_t>(weights_[i] * ctx.weight_factor[i])) : weights_[i];
        const std::int64_t current = current_[i] += w;
        total += w;
        if (current > best_current) {
            best_current = current;
            best = i;
        }
    }
    if (best == weights_.size()) return std::nullopt;
    current_[best] -= total;
    return best;
}

}  // namespace gatehouse::balancer
