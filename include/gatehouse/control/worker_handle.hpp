// What the controller may ask of a data-plane worker; the server implements it for each of its workers.
#pragma once

#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::control {

/// One worker's counts, copied on its own thread for /api/status and /metrics.
struct worker_counts {
    std::vector<std::uint32_t> in_flight;
    std::vector<std::uint32_t> websockets;  ///< open WebSocket tunnels per node (also counted in in_flight)
    std::size_t connections = 0;
    std::size_t idle_connections = 0;
    std::vector<std::size_t> pooled;    ///< idle upstream connections per node
    metrics::worker_counters counters;  ///< copied only for a metrics scrape
    std::uint64_t nodes_generation = 0;
};

/// Every call may come from any thread and queues work on the worker's own thread; callbacks run there too.
class worker_handle {
public:
    virtual ~worker_handle() = default;

    /// Replaces the worker's snapshot; `applied` runs right after.
    virtual void post_snapshot(model::snapshot_ptr snapshot, std::function<void()> applied) = 0;
    /// Copies the worker's counts (`with_counters`: idle connections, pooled connections and request counters too).
    virtual void post_counts(bool with_counters, std::function<void(worker_counts)> done) = 0;
    /// Reload step 1: opens acceptors for `endpoints` and keeps them aside; `done` gets "" or the error.
    virtual void post_open_listeners(std::vector<tcp::endpoint> endpoints, std::function<void(std::string)> done) = 0;
    /// Reload step 2: starts accepting on the acceptors kept aside and closes those listening on `removed`.
    virtual void post_commit_listeners(std::vector<tcp::endpoint> removed) = 0;
    /// Closes the acceptors kept aside (a reload that failed).
    virtual void post_discard_listeners() = 0;
};

using worker_handles = std::vector<std::unique_ptr<worker_handle>>;

}  // namespace gatehouse::control
