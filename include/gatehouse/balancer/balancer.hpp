// The interface every balancing algorithm implements; one algorithm per file behind it.
#pragma once

#include <gatehouse/config/config.hpp>

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace gatehouse::balancer {

/// Nodes per cluster the data plane supports (NocoBase itself stops at 32).
inline constexpr std::size_t max_nodes = 256;

/// A set of node indexes, e.g. those a request must not go to (already tried, down, draining).
using node_set = std::bitset<max_nodes>;

/// What one pick may look at. Spans are indexed by node and as long as the node list.
struct pick_context {
    const node_set& excluded;                 ///< never choose these
    std::uint64_t key = 0;                    ///< hash of the client (ip_hash); ignored by the others
    std::span<const std::uint32_t> in_flight{}; ///< this worker's requests in flight per node (least_request)
    std::span<const double> weight_factor{};    ///< 0 < f <= 1 per node (slow start); empty = all 1
};

/// Picks nodes for one worker. Instances are per worker: pick() may update private state without locks.
class balancer {
public:
    virtual ~balancer() = default;

    /// @return the chosen node index, or nullopt when every node is excluded.
    virtual std::optional<std::size_t> pick(const pick_context& ctx) = 0;
};

/// What an algorithm knows of a node when it is built.
struct node_entry {
    std::string_view name;  ///< stable identity (hashing algorithms place nodes by name, so reloads keep places)
    unsigned weight = 1;
};

/// Makes the balancer for `policy` over these nodes (index = node index).
std::unique_ptr<balancer> make_balancer(config::balance_policy policy, std::span<const node_entry> nodes);

}  // namespace gatehouse::balancer
