// The immutable view of the cluster that every worker reads: configuration and nodes, swapped whole.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/log/access_log.hpp>
#include <gatehouse/model/node_status.hpp>
#include <gatehouse/model/operator_state.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/net/node_tls.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::tls {
class server_tls;
}

namespace gatehouse::model {

/// One upstream node as the data plane sees it.
struct node {
    std::size_t index = 0;   ///< position in snapshot::nodes
    std::string name;
    std::string address;     ///< "host:port" as configured, without a scheme (the health check's default Host)
    std::string dns_name;    ///< the [[upstream.dns]] name the node was found under; "" = an [[upstream.node]]
    tcp::endpoint endpoint;
    /// An https:// node: the client context (one per snapshot, shared by its https nodes) and the names its
    /// connections send and verify. nullptr: plain TCP.
    std::shared_ptr<node_tls::ssl::context> tls;
    node_tls::peer_names tls_names;
    unsigned weight = 1;
    node_status_ptr status;  ///< shared with the health checker; survives reloads for a node that stays
    node_admin admin = node_admin::active;  ///< the operator's decision
    bool takes_new_requests = true;  ///< admin is active and no other node is pinned (health not included)
};

/// True when a connection made for `a` may serve `b` (a reload): same name, address, and TLS settings.
bool same_peer(const node& a, const node& b) noexcept;

/// Maintenance mode as the data plane applies it.
struct maintenance_view {
    bool enabled = false;
    std::string message;                     ///< the operator's reason, or a default text
    std::string html_page;                   ///< the configured page with {{reason}} filled in ("" = built-in page)
    std::optional<std::size_t> verify_node;  ///< bypassed requests go only to this node
};

/// Built on the control thread, then shared read-only by every worker (a request keeps the one it started with).
struct snapshot {
    std::uint64_t generation = 0;
    std::shared_ptr<const config::config> config;
    std::vector<node> nodes;
    maintenance_view maintenance;
    std::string starting_html_page;     ///< the configured page for "every node is starting" ("" = built-in page)
    std::string unavailable_html_page;  ///< the configured page for "no node is available" ("" = built-in page)
    std::optional<std::size_t> pinned;
    std::shared_ptr<log::access_log_sink> access_log;  ///< nullptr = access log off
    /// The certificates TLS listeners hand to new connections (nullptr = no TLS); a connection owns the one it
    /// started with.
    std::shared_ptr<const tls::server_tls> tls;
};

using snapshot_ptr = std::shared_ptr<const snapshot>;

/// Builds a snapshot from a validated configuration and the operator's state. A node of `previous` with the same
/// name and address keeps its status (health, ejection). With health checks off, new nodes start up. Operator
/// decisions about nodes that are not configured are ignored. `tls` nullptr keeps `previous`'s certificates. Throws std::invalid_argument when there are more
/// nodes than the data plane supports (balancer::max_nodes).
snapshot_ptr build_snapshot(std::shared_ptr<const config::config> config, std::uint64_t generation,
                            const snapshot* previous = nullptr, const operator_state& ops = {},
                            std::shared_ptr<log::access_log_sink> access_log = nullptr,
                            std::shared_ptr<const tls::server_tls> tls = nullptr);

/// The maintenance page with every "{{reason}}" replaced by `reason`, HTML-escaped.
std::string fill_page(std::string_view page, std::string_view reason);

}  // namespace gatehouse::model
