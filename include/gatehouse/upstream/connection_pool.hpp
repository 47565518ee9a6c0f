// Idle keep-alive connections to the nodes, one pool per worker (never shared across threads).
#pragma once

#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/upstream/node_stream.hpp>
#include <gatehouse/upstream/pool_sizing.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace gatehouse::upstream {

/// Idle connections per node, newest last. A node keeps at most as many idle connections as it had in use at once
/// recently (note_in_use), within the caps of pool_limits; surplus ones close gradually on the periodic tick and
/// every one closes at its expiry. A connection is handed out only when the caller's check shows the node has
/// neither closed it nor sent stray bytes on it, and never once it has been idle past its expiry.
class connection_pool {
public:
    explicit connection_pool(pool_limits limits) : limits_(limits) {}
    /// A pool capped at `max_idle_per_node` per node (0 disables reuse), otherwise sized by demand.
    explicit connection_pool(std::size_t max_idle_per_node) : limits_{max_idle_per_node} {}

    /// Makes room for `nodes` nodes, dropping every idle connection (a new node list means new endpoints).
    void reset(std::size_t nodes);

    /// A new node list: the idle connections of old node `o` move to `new_index_of_old[o]`; those of nodes that
    /// are gone (index out of range) are closed.
    void remap(const std::vector<std::size_t>& new_index_of_old, std::size_t nodes);

    /// New limits (a reload); extra connections close on the next ticks or when they would be parked.
    void set_limits(pool_limits limits) noexcept;

    /// Records that `in_use` connections to `node` are in use now (the worker's requests in flight to it).
    void note_in_use(std::size_t node, std::size_t in_use) noexcept;

    /// Says whether an idle connection may carry a request: false when the node has closed it or sent anything on
    /// it (the session answers from what the reactor knows, or with a peek). Called on the parked connection.
    using usable_check = bool (*)(node_stream&) noexcept;

    /// Takes the newest idle connection to `node` that has not expired, was parked at most `max_parked_ms` ago and
    /// passes `usable`, or nullopt. Connections that fail `usable` or have expired are closed on the way; a newest
    /// one parked too long ago is left for a later request (no newer one exists). A request that could not be sent
    /// again if the connection turns out to be closed passes a short `max_parked_ms`, or takes none.
    std::optional<node_stream> take(std::size_t node, std::int64_t max_parked_ms, usable_check usable);

    /// Parks `connection` (at the end of a complete exchange, nothing unread) until `expires_ms` (coarse clock).
    /// When the node already has as many idle connections as its limit allows, its oldest one is closed.
    void put(std::size_t node, node_stream&& connection, std::int64_t expires_ms);

    /// Closes the connections whose expiry has passed, and part of each node's surplus over its limit. Called from
    /// the worker's periodic tick.
    void expire(std::int64_t now_ms);

    /// Closes every idle connection (shutdown).
    void clear();

    std::size_t idle(std::size_t node) const { return node < nodes_.size() ? nodes_[node].idle.size() : 0; }
    /// Idle connections closed so far, by reason (reloads and shutdown not counted).
    const std::array<std::uint64_t, static_cast<std::size_t>(metrics::idle_close::count)>& closed() const noexcept {
        return closed_;
    }

private:
    struct idle_connection {
        node_stream socket;
        std::int64_t expires_ms;
        std::int64_t parked_ms;
    };
    struct node_pool {
        std::deque<idle_connection> idle;
        recent_peak demand;
        node_pool() = default;
        node_pool(node_pool&&) = default;  // never copied (sockets): lets std::vector move it when it grows
        node_pool& operator=(node_pool&&) = default;
        node_pool(const node_pool&) = delete;
        node_pool& operator=(const node_pool&) = delete;
    };
    /// How many idle connections `n` may keep now.
    std::size_t limit_of(node_pool& n, std::int64_t now_ms) noexcept;
    /// Closes `n`'s oldest idle connection, counted under `why`.
    void close_oldest(node_pool& n, metrics::idle_close why) noexcept;
    void count(metrics::idle_close why) noexcept { ++closed_[static_cast<std::size_t>(why)]; }

    pool_limits limits_;
    std::vector<node_pool> nodes_;
    std::size_t idle_total_ = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(metrics::idle_close::count)> closed_{};
};

}  // namespace gatehouse::upstream
