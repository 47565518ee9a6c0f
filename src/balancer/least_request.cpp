// Power-of-two-choices balancing on in-flight requests.
#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/balancer/least_request.hpp>

namespace gatehouse::balancer {

least_request::least_request(std::span<const node_entry> nodes, std::uint64_t seed) : state_(seed) {
    for (const auto& n : nodes) weights_.push_back(n.weight);
}

std::uint64_t least_request::next_random() noexcept {
    state_ += 0x9e3779b97f4a7c15ull;
    return mix64(state_);
}

std::optional<std::size_t> least_request::random_eligible(const node_set& excluded, std::size_t avoid) {
    const std::size_t n = weights_.size();
    const std::size_t start = next_random() % n;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t node = (start + i) % n;
        if (!excluded.test(node) && node != avoid) return node;
    }
    return std::nullopt;
}

std::optional<std::size_t> least_request::pick(const pick_context& ctx) {
    if (weights_.empty()) return std::nullopt;
    const auto first = random_eligible(ctx.excluded, max_nodes);
    if (!first) return std::nullopt;
    const auto second = random_eligible(ctx.excluded, *first);
    if (!second) return first;
    const auto load = [&](std::size_t i) {
        const double busy = i < ctx.in_flight.size() ? ctx.in_flight[i] : 0;
        const double factor = ctx.weight_factor.empty() ? 1.0 : ctx.weight_factor[i];
        return (busy + 1) / (weights_[i] * factor);
    };
    return load(*second) < load(*first) ? second : first;
}

}  // namespace gatehouse::balancer
