// The operator subcommands (maintenance, nodes, drain, disable, enable, pin, unpin, reload): argv in, exit code out.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace gatehouse::cli {

/// Adds the operator subcommands to `app`. After parsing, `run_selected` returns the exit code of the one chosen,
/// or -1 when none of them was.
std::function<int()> add_admin_commands(CLI::App& app, const char* version_text);

}  // namespace gatehouse::cli
