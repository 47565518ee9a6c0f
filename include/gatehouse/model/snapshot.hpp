// The immutable view of the cluster that every worker reads: configuration and nodes, swapped whole.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/model/node_status.hpp>
#include <gatehouse/net.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::model {

/// One upstream node as the data plane sees it.
struct node {
    std::size_t index = 0;   ///< position in snapshot::nodes
    std::string name;
    std::string address;     ///< "host:port" as configured (the health check's default Host)
    tcp::endpoint endpoint;
    unsigned weight = 1;
    node_status_ptr status;  ///< shared with the health checker; survives reloads for a node that stays
};

/// Built on the control thread, then shared read-only by every worker (a request keeps the one it started with).
struct snapshot {
    std::uint64_t generation = 0;
    std::shared_ptr<const config::config> config;
    std::vector<node> nodes;
};

using snapshot_ptr = std::shared_ptr<const snapshot>;

/// Builds a snapshot from a validated configuration. A node of `previous` with the same name and address keeps
/// its status (health, ejection). With health checks off, new nodes start up. Throws std::invalid_argument when
/// there are more nodes than the data plane supports (balancer::max_nodes).
snapshot_ptr build_snapshot(std::shared_ptr<const config::config> config, std::uint64_t generation,
                            const snapshot* previous = nullptr);

}  // namespace gatehouse::model
