// Smooth weighted round-robin: each pick adds every eligible node's weight to its counter, takes the largest
// counter and subtracts the eligible total from it. Weights 5,1,1 give a a b a c a a, never a long run.
#include <gatehouse/balancer/round_robin.hpp>

namespace gatehouse::balancer {

round_robin::round_robin(std::span<const unsigned> weights)
    : weights_(weights.begin(), weights.end()), current_(weights.size(), 0) {}

std::optional<std::size_t> round_robin::pick(const node_set& excluded, std::uint64_t) {
    std::int64_t total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
        if (excluded.test(i)) continue;
        current_[i] += weights_[i];
        total += weights_[i];
        if (!best || current_[i] > current_[*best]) best = i;
    }
    if (best) current_[*best] -= total;
    return best;
}

}  // namespace gatehouse::balancer
