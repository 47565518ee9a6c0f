// What the operator decided at run time: maintenance, drained/disabled nodes, a pinned node (pure data).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::model {

/// An operator's decision about one node; `active` is the default and is not stored.
enum class node_admin : std::uint8_t {
    active,    ///< balanced as usual
    draining,  ///< no new requests; requests in flight finish; health checks go on
    disabled,  ///< no new requests and no health checks (the node is being worked on)
};

const char* to_string(node_admin a) noexcept;

struct maintenance_state {
    bool enabled = false;
    std::string reason;              ///< shown to visitors and in NocoBase's "upgrading" screen
    std::int64_t since_unix_ms = 0;  ///< when it was switched on
    std::string verify_node;         ///< bypassed requests go only to this node ("" = balanced as usual)
    bool operator==(const maintenance_state&) const = default;
};

/// Changed by the admin API on the control thread; persisted whole after every change.
struct operator_state {
    maintenance_state maintenance;
    std::string pinned_node;                  ///< single-node mode: all new traffic to this node ("" = off)
    std::map<std::string, node_admin> nodes;  ///< nodes not `active`, by name

    node_admin admin_of(std::string_view node) const;
    /// Forgets decisions about nodes not in `names` (after a reload removed them); returns what was dropped.
    /// A node named "<w>@..." for a `waiting` DNS name w (one without an answer yet) is kept: its name may come back
    /// with the first answer.
    std::vector<std::string> keep_only(const std::vector<std::string>& names,
                                       const std::vector<std::string>& waiting = {});
    bool operator==(const operator_state&) const = default;
};

}  // namespace gatehouse::model
