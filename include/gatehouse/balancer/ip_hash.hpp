// ip_hash: consistent hashing of the client address over a Maglev lookup table.
#pragma once

#include <gatehouse/balancer/balancer.hpp>

#include <vector>

namespace gatehouse::balancer {

/// Maps a client key to a node through a Maglev table (Eisenbud et al., NSDI 2016) built once over every
/// configured node, weighted. Health never rebuilds the table: a key whose node is excluded is re-hashed to
/// another slot, so only the clients of a node that goes down move, and they move back when it returns.
/// A pick is one table lookup (plus one per excluded node hit).
class ip_hash final : public balancer {
public:
    /// Table size: a prime well above 100 x the node count keeps shares within ~1% of the weights.
    static constexpr std::size_t table_size = 65537;

    explicit ip_hash(std::span<const node_entry> nodes);
    std::optional<std::size_t> pick(const pick_context& ctx) override;

    /// The node a key maps to when nothing is excluded (for tests).
    std::size_t home_of(std::uint64_t key) const noexcept { return table_[key % table_size]; }

private:
    std::vector<std::uint16_t> table_;
    std::size_t nodes_;
};

}  // namespace gatehouse::balancer
