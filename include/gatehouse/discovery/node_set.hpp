// The node list that DNS answers make of the configuration: pure functions (README, Nodes from DNS).
#pragma once

#include <gatehouse/config/config.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace gatehouse::discovery {

/// The last good answer of every name looked up: numeric addresses, sorted, no duplicates, never empty.
using answers = std::map<std::string, std::vector<std::string>>;

/// One name to look up while running and how often.
struct watched_name {
    std::string name;
    std::chrono::milliseconds refresh{5000};
    bool discovers_nodes = false;  ///< an [[upstream.dns]] name (else the host of static nodes)
};

/// The names of [[upstream.dns]] (their refresh) and the host names of static nodes (`static_refresh`), once each.
std::vector<watched_name> names_to_watch(const config::upstream_config& upstream,
                                         std::chrono::milliseconds static_refresh);

/// The name of the node an [[upstream.dns]] answer makes of `address`: "<dns name>@<address>".
std::string dns_node_name(const std::string& dns_name, const std::string& address);

/// The nodes of `upstream` with the answers applied: static nodes keep their place, a static node whose host has
/// an answer takes its first IPv4 address (else its first IPv6 one, as at load), then one node per address of each
/// [[upstream.dns]] name in configuration order. A name without an answer contributes no node.
std::vector<config::node_config> expand_nodes(const config::upstream_config& upstream, const answers& known);

/// The [[upstream.dns]] names of `upstream` that have no node yet (no answer since start): their nodes' saved
/// drains and disables wait for the first answer instead of being dropped (operator_state::keep_only).
std::vector<std::string> unanswered_dns_names(const config::upstream_config& upstream);

/// What changed between two node lists, by name and address.
struct node_change {
    std::vector<std::string> added;        ///< "name (address)"
    std::vector<std::string> removed;
    std::vector<std::string> readdressed;  ///< "name: old -> new"
    bool empty() const noexcept { return added.empty() && removed.empty() && readdressed.empty(); }
};
node_change compare(const std::vector<config::node_config>& before, const std::vector<config::node_config>& after);

/// `addresses` sorted without duplicates (an answer's order changes nothing).
std::vector<std::string> normalized(std::vector<std::string> addresses);

/// When to look a name up again: `refresh` after a success; after `failures` consecutive failures 1 s, 2 s, 4 s...
/// but never later than `refresh`.
std::chrono::milliseconds next_lookup_in(std::chrono::milliseconds refresh, unsigned failures) noexcept;

}  // namespace gatehouse::discovery
