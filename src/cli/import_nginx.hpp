// The `import-nginx FILE` subcommand: prints the gatehouse TOML translation of an Nginx configuration.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace gatehouse::cli {

/// Adds `import-nginx` to `app`. After parsing, the returned function runs it and returns its exit code (0, or 1
/// with the reason on stderr), or -1 when it was not the subcommand chosen.
std::function<int()> add_import_nginx(CLI::App& app, const char* version_text);

}  // namespace gatehouse::cli
