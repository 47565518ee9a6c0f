// Files the configuration names: read whole, found relative to the configuration, and the [maintenance] section
// that reads its page and bypass cookie from them (private to src/config).
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

/// `s` without trailing line ends, spaces and tabs (a token or a cookie written to a file).
std::string_view trim_line_ends(std::string_view s);

/// [maintenance]: the page (read now), retry_after, the state file, the bypass CIDRs and cookie.
void read_maintenance(reader& r, const toml::table& root, const std::string& origin, maintenance_config& out);

/// [compression]: enabled, types, min_length, level (compression.cpp).
void read_compression(reader& r, const toml::table& root, compression_config& out);

/// A redis:// URL into `out`'s redis_* fields; returns what is wrong, "" when it is valid (cluster.cpp).
std::string parse_redis_url(std::string_view url, cluster_config& out);

/// [cluster]: redis_url, key, channel, name, timeout, retry_max (cluster.cpp); after [proxy] (the default name).
void read_cluster(reader& r, const toml::table& root, config& c);

/// [[upstream.dns]] of the [upstream] table (dns.cpp).
void read_dns(reader& r, const toml::table& upstream, std::vector<dns_config>& out);

/// [resolver]: servers, timeout (dns.cpp).
void read_resolver(reader& r, const toml::table& root, resolver_config& out);

}  // namespace gatehouse::config::detail
