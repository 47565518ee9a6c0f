// Reading and validating a gatehouse TOML file. The only place that knows TOML.
#pragma once

#include <gatehouse/config/config.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::config {

/// One thing wrong with a configuration file, located as precisely as the file allows.
struct config_problem {
    std::string file;      ///< path as given, or "<inline>"
    unsigned line = 0;     ///< 1-based; 0 when the problem has no single place (e.g. a missing table)
    unsigned column = 0;   ///< 1-based; 0 when unknown
    std::string key;       ///< dotted key path, e.g. "upstream.node[1].address"
    std::string message;   ///< what was wrong, e.g. "duplicate node name 'node1' (first at line 12)"

    /// "file:line:column: key: message" (line/column omitted when 0).
    std::string to_string() const;
};

/// Thrown by load_config/parse_config; carries every problem found, not just the first.
class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<config_problem> problems);
    const std::vector<config_problem>& problems() const noexcept { return problems_; }

private:
    std::vector<config_problem> problems_;
};

/// Parses and validates TOML text. `origin` names the text in problems. Throws config_error.
config parse_config(std::string_view text, std::string_view origin = "<inline>");

/// Reads `path` and parses it. An unreadable file is a config_error too.
config load_config(const std::string& path);

/// Non-fatal remarks about a valid configuration (printed by `gatehouse check`).
std::vector<std::string> config_warnings(const config& c);

}  // namespace gatehouse::config
