// The interface every balancing algorithm implements; one algorithm per file behind it.
#pragma once

#include <gatehouse/config/config.hpp>

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace gatehouse::balancer {

/// Nodes per cluster the data plane supports (NocoBase itself stops at 32).
inline constexpr std::size_t max_nodes = 256;

/// A set of node indexes, e.g. those a request must not go to (already tried, down, draining).
using node_set = std::bitset<max_nodes>;

/// Picks nodes for one worker. Instances are per worker: pick() may update private state without locks.
class balancer {
public:
    virtual ~balancer() = default;

    /// @param excluded nodes that must not be chosen.
    /// @param key      a hash of the client (used by hashing algorithms, ignored by the others).
    /// @return the chosen node index, or nullopt when every node is excluded.
    virtual std::optional<std::size_t> pick(const node_set& excluded, std::uint64_t key) = 0;
};

/// Makes the balancer for `policy` over nodes with these weights (index = node index).
std::unique_ptr<balancer> make_balancer(config::balance_policy policy, std::span<const unsigned> weights);

}  // namespace gatehouse::balancer
