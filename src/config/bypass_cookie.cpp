// The bypass cookie's "name=value": a cookie name, and a value long enough to be a password.
#include "bypass_cookie.hpp"

#include <gatehouse/config/config.hpp>

#include <algorithm>

namespace gatehouse::config::detail {

cookie_problem parse_bypass_cookie(std::string_view text, std::string& name, std::string& value) {
    constexpr std::string_view name_chars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~";
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) return cookie_problem::malformed;
    const auto n = text.substr(0, eq), v = text.substr(eq + 1);
    const bool value_ok = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
        return c > 0x20 && c < 0x7f && c != ';' && c != ',' && c != '"' && c != '\\';
    });
    if (n.empty() || n.find_first_not_of(name_chars) != std::string_view::npos || !value_ok)
        return cookie_problem::malformed;
    if (v.size() < min_bypass_cookie_value) return cookie_problem::too_short;
    name = n;
    value = v;
    return cookie_problem::none;
}

}  // namespace gatehouse::config::detail
