// The balancer factory: the one place that maps a configured policy to its algorithm.
#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/balancer/ip_hash.hpp>
#include <gatehouse/balancer/least_request.hpp>
#include <gatehouse/balancer/round_robin.hpp>

namespace gatehouse::balancer {

namespace {

/// No node at all (only [[upstream.dns]] names, none answering yet): every pick finds none.
class no_node final : public balancer {
public:
    std::optional<std::size_t> pick(const pick_context&) override { return std::nullopt; }
};

}  // namespace

std::unique_ptr<balancer> make_balancer(config::balance_policy policy, std::span<const node_entry> nodes) {
    if (nodes.empty()) return std::make_unique<no_node>();
    switch (policy) {
    case config::balance_policy::ip_hash: return std::make_unique<ip_hash>(nodes);
    case config::balance_policy::least_request: return std::make_unique<least_request>(nodes);
    case config::balance_policy::round_robin: break;
    }
    return std::make_unique<round_robin>(nodes);
}

}  // namespace gatehouse::balancer
