// The operator state's file: JSON text, written atomically, read back at start.
#pragma once

#include <gatehouse/model/operator_state.hpp>

#include <string>
#include <string_view>

namespace gatehouse::control {

/// The operator state is the model's (model/operator_state.hpp); control changes it and keeps it in a file.
using model::maintenance_state;
using model::node_admin;
using model::operator_state;

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
