// Parsing maintenance.bypass_cookie's "name=value" (inline or from bypass_cookie_file); internal to src/config.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse::config::detail {

enum class cookie_problem { none, malformed, too_short };

/// Splits "name=value" into `name` and `value` (set only when none): a cookie name (RFC 6265 token), '=', and a
/// value of visible ASCII without ';', ',', '"' or '\\' of at least min_bypass_cookie_value characters.
cookie_problem parse_bypass_cookie(std::string_view text, std::string& name, std::string& value);

}  // namespace gatehouse::config::detail
