// least_request: the power of two random choices over this worker's in-flight requests (Envoy's default).
#pragma once

#include <gatehouse/balancer/balancer.hpp>

#include <vector>

namespace gatehouse::balancer {

/// Draws two different eligible nodes at random and takes the one with fewer in-flight requests per unit of
/// weight. Cheaper than a full scan and avoids the herd that "always the least loaded" causes across workers.
class least_request final : public balancer {
public:
    explicit least_request(std::span<const node_entry> nodes, std::uint64_t seed = 0x853c49e6748fea9bull);
    std::optional<std::size_t> pick(const pick_context& ctx) override;

private:
    std::uint64_t next_random() noexcept;
    std::optional<std::size_t> random_eligible(const node_set& excluded, std::size_t avoid);

    std::vector<double> weights_;
    std::uint64_t state_;
};

}  // namespace gatehouse::balancer
