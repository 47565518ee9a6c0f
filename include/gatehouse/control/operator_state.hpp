// What the operator decided at run time (maintenance, drained/disabled nodes, a pinned node), and its state file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::control {

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
    std::vector<std::string> keep_only(const std::vector<std::string>& names);
    bool operator==(const operator_state&) const = default;
};

/// {"maintenance":{"enabled":..,"reason":..,"since_unix_ms":..,"verify_node":..},"pinned_node":..,
///  "nodes":{"node2":"draining"}}
std::string to_json(const operator_state& state);

/// Parses what to_json wrote. Throws std::runtime_error saying what is wrong.
operator_state operator_state_from_json(std::string_view text);

/// Writes the state to `path` atomically (a new, uniquely named temporary file in the same directory created with
/// O_EXCL|O_NOFOLLOW and mode 0600, fsync, rename), creating the
/// directory if needed. Returns an error message, "" on success.
std::string save_state_file(const std::string& path, const operator_state& state);

/// Reads `path`; `found` false when it does not exist (the state is then the default). Throws std::runtime_error
/// naming the file when it exists but cannot be read or parsed.
operator_state load_state_file(const std::string& path, bool& found);

}  // namespace gatehouse::control
