// Which nodes may take a request right now: active health, passive ejection and slow start, read once.
#pragma once

#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/model/snapshot.hpp>

#include <cstdint>
#include <span>

namespace gatehouse::proxy {

struct node_availability {
    balancer::node_set excluded;  ///< nodes that must not get the request (down, starting, ejected, drained...)
    bool any_ready = false;       ///< at least one node takes traffic
    bool all_starting = false;    ///< no node takes traffic and every node the operator left in says it is starting
    bool ramping = false;         ///< a node is in slow start: `factors` holds the shares to use
    bool ejection_ignored = false;  ///< every node that is up was ejected: they take requests anyway (panic)
    /// No node is up but some say they are starting: the request goes to one of those (NocoBase answers its own
    /// progress, and a WebSocket there gets the "running, refresh" message when the app is ready).
    bool to_starting = false;
};

/// Reads each node's shared status with relaxed loads (no writes). With `slow_start` > 0 writes each ready
/// node's share factor (0.1 .. 1) into `factors` (one slot per node). When passive ejection alone keeps every
/// node that the active checks call up from taking traffic, those nodes take it anyway (ejection_ignored). When no
/// node is up, nodes that say they are starting (and are not ejected) take the request (to_starting).
node_availability assess_nodes(const model::snapshot& snapshot, std::int64_t now_ms, std::span<double> factors);

}  // namespace gatehouse::proxy
