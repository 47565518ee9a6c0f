// Nginx configuration syntax: directives, their arguments and blocks, with the line each starts on. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::nginx {

/// One directive: `name arg...;` or `name arg... { block }`. Quotes are removed from arguments ('a b' is one
/// argument); variables ($host) stay as written.
struct directive {
    std::string name;
    std::vector<std::string> args;
    unsigned line = 0;               ///< 1-based line of the directive's name
    bool has_block = false;
    std::vector<directive> block;    ///< the directives inside { }, when has_block

    /// The directive as written on one line: `name arg ...` (no `;`, no block).
    std::string text() const;
};

struct parse_error {
    unsigned line = 0;
    std::string message;
};

struct parse_result {
    std::vector<directive> directives;   ///< the top level; empty when error is set
    std::optional<parse_error> error;
};

/// Parses a whole configuration file's text. Comments (# to the end of the line) are skipped. A missing `;`, an
/// unbalanced brace or an unterminated quote is an error naming its line; nothing is partially returned.
parse_result parse(std::string_view text);

}  // namespace gatehouse::nginx
