// [[upstream.dns]] (nodes found by name) and [resolver] (where names are looked up while running).
#include "read_files.hpp"

#include <arpa/inet.h>

#include <map>

namespace gatehouse::config::detail {

namespace {

/// A DNS host name: letters, digits, '-', '_' and '.', at most 253 characters, not an IP literal.
std::string host_name_problem(std::string_view name) {
    constexpr std::string_view allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_";
    if (name.empty() || name.size() > 253) return "must be a host name of 1 to 253 characters";
    if (name.find_first_not_of(allowed) != std::string_view::npos)
        return "invalid host name '" + std::string(name) + "' (allowed characters: A-Z a-z 0-9 . - _)";
    if (name.front() == '.' || name.find("..") != std::string_view::npos)
        return "invalid host name '" + std::string(name) + "' (empty label)";
    in_addr v4;
    if (inet_pton(AF_INET, std::string(name).c_str(), &v4) == 1)
        return "'" + std::string(name) + "' is an IP address: write it as an [[upstream.node]]";
    return "";
}

void read_dns_entry(reader& r, const toml::table& t, const std::string& path, std::map<std::string, unsigned>& seen,
                    std::vector<dns_config>& out) {
    dns_config d;
    if (auto v = r.string(t, "name", path, presence::required)) {
        const auto line = t.get("name")->source().begin.line;
        if (auto problem = host_name_problem(*v); !problem.empty())
            r.problem(t.get("name")->source(), path + ".name", std::move(problem));
        else if (auto [it, inserted] = seen.emplace(*v, line); !inserted)
            r.problem(t.get("name")->source(), path + ".name",
                      "duplicate name '" + *v + "' (first used at line " + std::to_string(it->second) + ")");
        d.name = std::move(*v);
    }
    if (!t.contains("port")) r.problem(t.source(), path + ".port", "is required (the port of every node of the name)");
    if (auto v = r.integer(t, "port", path, 1, 65535)) d.port = static_cast<std::uint16_t>(*v);
    if (auto v = r.duration(t, "refresh", path, true)) {
        if (*v < std::chrono::seconds(1) || *v > std::chrono::hours(1))
            r.problem(t.get("refresh")->source(), path + ".refresh", "must be between 1s and 1h");
        d.refresh = *v;
    }
    if (auto v = r.integer(t, "weight", path, 1, 1000)) d.weight = static_cast<unsigned>(*v);
    if (auto v = r.boolean(t, "tls", path)) d.tls = *v;
    out.push_back(std::move(d));
}

}  // namespace

void read_dns(reader& r, const toml::table& upstream, std::vector<dns_config>& out) {
    const auto* entries = r.array(upstream, "dns", "upstream", "an array of tables ([[upstream.dns]])");
    if (!entries) return;
    std::map<std::string, unsigned> seen;
    for (std::size_t i = 0; i < entries->size(); ++i) {
        const std::string path = index_path("upstream.dns", i);
        if (const auto* t = r.table(*entries->get(i), path, {"name", "port", "refresh", "weight", "tls"}))
            read_dns_entry(r, *t, path, seen, out);
    }
}

void read_resolver(reader& r, const toml::table& root, resolver_config& out) {
    const std::string path = "resolver";
    const auto* t = r.section(root, path, {"servers", "timeout", "refresh"});
    if (!t) return;
    if (auto v = r.addresses(*t, "servers", path)) {
        if (v->size() > 3) r.problem(t->get("servers")->source(), "resolver.servers", "at most 3 servers");
        out.servers = std::move(*v);
    }
    if (auto v = r.duration(*t, "timeout", path, true)) {
        if (*v > std::chrono::seconds(30))
            r.problem(t->get("timeout")->source(), "resolver.timeout", "must be at most 30s");
        out.timeout = *v;
    }
    if (auto v = r.duration(*t, "refresh", path, true)) {
        if (*v < std::chrono::seconds(1) || *v > std::chrono::hours(1))
            r.problem(t->get("refresh")->source(), "resolver.refresh", "must be between 1s and 1h");
        out.refresh = *v;
    }
}

}  // namespace gatehouse::config::detail
