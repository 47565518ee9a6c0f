// Idle keep-alive connections to the nodes, one pool per worker (never shared across threads).
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace gatehouse::upstream {

/// Idle connections per node, newest last. A connection is handed out only when the caller's check shows the node
/// has neither closed it nor sent stray bytes on it, and never once it has been idle past its expiry.
class connection_pool {
public:
    /// @param max_idle_per_node idle connections kept per node; 0 disables reuse.
    explicit connection_pool(std::size_t max_idle_per_node) : max_idle_(max_idle_per_node) {}

    /// Makes room for `nodes` nodes, dropping every idle connection (a new node list means new endpoints).
    void reset(std::size_t nodes);

    /// A new node list: the idle connections of old node `o` move to `new_index_of_old[o]`; those of nodes that
    /// are gone (index out of range) are closed.
    void remap(const std::vector<std::size_t>& new_index_of_old, std::size_t nodes);

    /// Changes how many idle connections are kept per node (a reload); extra ones close when they would be parked.
    void set_max_idle(std::size_t max_idle_per_node) noexcept { max_idle_ = max_idle_per_node; }

    /// Says whether an idle connection may carry a request: false when the node has closed it or sent anything on
    /// it (the session answers from what the reactor knows, or with a peek). Called on the parked connection.
    using usable_check = bool (*)(node_stream&) noexcept;

    /// Takes the newest idle connection to `node` that has not expired, was parked at most `max_parked_ms` ago and
    /// passes `usable`, or nullopt. Connections that fail `usable` or have expired are closed on the way; a newest
    /// one parked too long ago is left for a later request (no newer one exists). A request that could not be sent
    /// again if the connection turns out to be closed passes a short `max_parked_ms`, or takes none.
    std::optional<node_stream> take(std::size_t node, std::int64_t max_parked_ms, usable_check usable);

    /// Parks `connection` (at the end of a complete exchange, nothing unread) until `expires_ms` (coarse clock).
    void put(std::size_t node, node_stream&& connection, std::int64_t expires_ms);

    /// Closes the connections whose expiry has passed. Called from the worker's periodic tick.
    void expire(std::int64_t now_ms);

    /// Closes every idle connection (shutdown).
    void clear();

    std::size_t idle(std::size_t node) const { return node < nodes_.size() ? nodes_[node].size() : 0; }

private:
    struct idle_connection {
        node_stream socket;
        std::int64_t expires_ms;
        std::int64_t parked_ms;
    };
    std::size_t max_idle_;
    std::vector<std::deque<idle_connection>> nodes_;
};

}  // namespace gatehouse::upstream
