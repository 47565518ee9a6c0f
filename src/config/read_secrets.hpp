// Reading values that may come from files named in the configuration: the admin token and the bypass cookie
// (private to src/config).
#pragma once

#include "toml_reader.hpp"

#include <cstdio>
#include <string>
#include <string_view>

namespace gatehouse::config::detail {

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

/// Reads a whole file of at most `limit` bytes; returns an error message or "".
std::string read_whole_file(const std::string& path, std::string& out, std::size_t limit);

/// A path from the file, relative to the directory of the configuration file that names it.
std::string relative_to(std::string_view origin, const std::string& path);

/// [admin]: the listener and the token (from token_env or token_file, relative to `origin`).
void read_admin(reader& r, const toml::table& root, const std::string& origin, admin_config& out);

/// maintenance.bypass_cookie, or the first line of maintenance.bypass_cookie_file (relative to the configuration).
void read_bypass_cookie(reader& r, const toml::table& t, const std::string& origin, maintenance_config& out);

}  // namespace gatehouse::config::detail
