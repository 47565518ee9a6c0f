// Smooth weighted round-robin (as Nginx does it): over any window, each node's share follows its weight.
#pragma once

#include <gatehouse/balancer/balancer.hpp>

#include <vector>

namespace gatehouse::balancer {

class round_robin final : public balancer {
public:
    explicit round_robin(std::span<const node_entry> nodes);
    std::optional<std::size_t> pick(const pick_context& ctx) override;

private:
    std::vector<std::int64_t> weights_;
    std::vector<std::int64_t> current_;
};

}  // namespace gatehouse::balancer
