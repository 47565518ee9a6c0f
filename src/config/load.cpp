// Reads a gatehouse TOML file into a validated config, collecting every problem with its place and key.
#include <gatehouse/config/load.hpp>

#include "node_tls.hpp"
#include "read_files.hpp"
#include "read_tls.hpp"
#include "toml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <thread>
#include <tuple>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::config {

std::string config_problem::to_string() const {
    std::string out = file;
    if (line != 0) out += ':' + std::to_string(line) + (column != 0 ? ':' + std::to_string(column) : "");
    return out + ": " + (key.empty() ? "" : key + ": ") + message;
}

namespace {

std::string join_problems(const std::vector<config_problem>& problems) {
    std::string out;
    for (const auto& p : problems) out.append(out.empty() ? "" : "\n").append(p.to_string());
    return out;
}

}  // namespace

config_error::config_error(std::vector<config_problem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

namespace {
using namespace detail;

// ---- sections ----

void read_proxy(reader& r, const toml::table& root, proxy_config& out) {
    out.listen = {socket_address{"0.0.0.0:8080", "0.0.0.0", 8080, false}};
    const std::string path = "proxy";
    const auto* t = r.section(root, path, {"listen", "workers", "trusted_proxies", "trust_forwarded_host_proto",
                                           "request_buffering", "redirect_https"});
    if (!t) return;
    if (auto v = r.addresses(*t, "listen", path)) {
        if (t->get("listen")->as_array()->empty())
            r.problem(t->get("listen")->source(), "proxy.listen", "at least one listen address is required");
        out.listen = std::move(*v);
    }
    if (auto v = r.integer(*t, "workers", path, 0, 256)) out.workers = static_cast<unsigned>(*v);
    if (auto v = r.cidrs(*t, "trusted_proxies", path)) out.trusted_proxies = std::move(*v);
    if (auto v = r.boolean(*t, "trust_forwarded_host_proto", path)) out.trust_forwarded_host_proto = *v;
    if (auto v = r.boolean(*t, "request_buffering", path)) out.request_buffering = *v;
    if (auto v = r.boolean(*t, "redirect_https", path)) out.redirect_https = *v;
}

/// One [[upstream.node]] table; `first_line` maps names already seen to the line that defined them.
void read_node(reader& r, const toml::table& t, const std::string& path, std::map<std::string, unsigned>& first_line,
               std::vector<node_config>& out) {
    node_config node;
    auto name = r.string(t, "name", path, presence::required);
    if (auto v = r.integer(t, "weight", path, 1, 1000)) node.weight = static_cast<unsigned>(*v);
    if (name) {
        constexpr std::string_view name_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
        const auto& where = t.get("name")->source();
        if (name->empty()) {
            r.problem(where, path + ".name", "must not be empty");
        } else if (name->find_first_not_of(name_chars) != std::string::npos) {
            r.problem(where, path + ".name",
                      "invalid node name '" + *name + "' (allowed characters: A-Z a-z 0-9 . _ -)");
        } else if (auto [it, fresh] = first_line.emplace(*name, where.begin.line); !fresh) {
            r.problem(where, path + ".name",
                      "duplicate node name '" + *name + "' (first defined at line " + std::to_string(it->second) + ")");
        }
        node.name = std::move(*name);
    }
    read_node_address(r, t, path, node);
    out.push_back(std::move(node));
}

void read_upstream(reader& r, const toml::table& root, const std::string& origin, upstream_config& out) {
    const std::string path = "upstream";
    const auto* t = r.section(root, path, {"balance", "tries", "keepalive", "slow_start", "drain_websockets_after", "node", "dns",
                                           "tls"});
    const toml::array* nodes = nullptr;
    if (t) {
        if (auto v = r.choice<balance_policy>(*t, "balance", path, {{"round_robin", balance_policy::round_robin}, {"ip_hash", balance_policy::ip_hash}, {"least_request", balance_policy::least_request}}))
            out.balance = *v;
        if (auto v = r.integer(*t, "tries", path, 1, 16)) out.tries = static_cast<unsigned>(*v);
        if (auto v = r.integer(*t, "keepalive", path, 0, 4096)) out.keepalive = static_cast<unsigned>(*v);
        if (auto v = r.duration(*t, "slow_start", path)) out.slow_start = *v;
        if (auto v = r.duration(*t, "drain_websockets_after", path)) out.drain_websockets_after = *v;
        nodes = r.array(*t, "node", path, "an array of tables ([[upstream.node]])");
        read_node_tls(r, *t, origin, out.tls);
        read_dns(r, *t, out.dns);
    }
    const bool reported = t ? (t->contains("node") && !nodes) : root.contains(path);  // already a type problem
    if (!nodes || nodes->empty()) {
        if (!reported && !(t && t->contains("dns")))
            r.problem(nodes ? nodes->source() : t ? t->source() : toml::source_region{}, "upstream.node",
                      "at least one [[upstream.node]] or [[upstream.dns]] is required");
        return;
    }
    std::map<std::string, unsigned> first_line;
    for (std::size_t i = 0; i < nodes->size(); ++i) {
        const std::string node_path = index_path("upstream.node", i);
        if (const auto* node = r.table(*nodes->get(i), node_path, {"name", "address", "weight"}))
            read_node(r, *node, node_path, first_line, out.nodes);
    }
}

void read_timeouts(reader& r, const toml::table& root, timeouts_config& out) {
    const std::string path = "timeouts";
    const auto* t = r.section(root, path, {"client_header", "client_idle", "upstream_connect", "upstream_response",
                                           "upstream_idle", "shutdown_drain", "client_body", "websocket_idle"});
    if (!t) return;
    const auto read = [&](std::string_view key, duration& field, bool positive) {
        if (auto v = r.duration(*t, key, path, positive)) field = *v;
    };
    read("client_header", out.client_header, true);
    read("client_idle", out.client_idle, true);
    read("upstream_connect", out.upstream_connect, true);
    read("upstream_response", out.upstream_response, true);
    read("upstream_idle", out.upstream_idle, false);
    read("shutdown_drain", out.shutdown_drain, false);
    read("client_body", out.client_body, false);
    read("websocket_idle", out.websocket_idle, true);
}

void read_limits(reader& r, const toml::table& root, limits_config& out) {
    const std::string path = "limits";
    if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp == '/') out.request_buffer_dir = tmp;
    else out.request_buffer_dir = "/tmp";
    const auto* t = r.section(root, path, {"max_request_head", "max_request_body", "max_connections",
                                           "request_buffer_memory", "request_buffer_dir",
                                           "max_connections_per_client"});
    if (!t) return;
    if (auto v = r.size(*t, "max_request_head", path, 1024, 64 * 1024)) out.max_request_head = *v;
    if (auto v = r.size(*t, "max_request_body", path)) out.max_request_body = *v;
    if (auto v = r.integer(*t, "max_connections", path, 0, 1'000'000)) out.max_connections = static_cast<std::uint64_t>(*v);
    if (auto v = r.size(*t, "request_buffer_memory", path, 0, 64ull * 1024 * 1024)) out.request_buffer_memory = *v;
    if (auto v = r.string(*t, "request_buffer_dir", path)) {
        if (v->empty() || v->front() != '/')
            r.problem(t->get("request_buffer_dir")->source(), "limits.request_buffer_dir",
                      "must be an absolute directory path, got '" + *v + "'");
        else
            out.request_buffer_dir = std::move(*v);
    }
    if (auto v = r.integer(*t, "max_connections_per_client", path, 0, 1'000'000))
        out.max_connections_per_client = static_cast<std::uint64_t>(*v);
}

void read_health_check(reader& r, const toml::table& root, health_check_config& out) {
    const std::string path = "health_check";
    const auto* t = r.section(root, path, {"enabled", "path", "host", "interval", "timeout", "rise", "fall",
                                           "expect_status", "expect_body", "jitter", "max_fails", "fail_timeout",
                                           "fail_timeout_max", "fail_on_5xx", "starting_interval"});
    if (!t) return;
    if (auto v = r.boolean(*t, "enabled", path)) out.enabled = *v;
    if (auto v = r.string(*t, "path", path)) {
        if (v->empty() || v->front() != '/')
            r.problem(t->get("path")->source(), "health_check.path", "must start with '/'");
        else
            out.path = *v;
    }
    if (auto v = r.string(*t, "host", path)) out.host = *v;
    if (auto v = r.duration(*t, "interval", path, true)) out.interval = *v;
    if (auto v = r.duration(*t, "timeout", path, true)) out.timeout = *v;
    if (auto v = r.duration(*t, "jitter", path)) out.jitter = *v;
    if (auto v = r.duration(*t, "starting_interval", path, true)) out.starting_interval = *v;
    if (auto v = r.integer(*t, "rise", path, 1, 100)) out.rise = static_cast<unsigned>(*v);
    if (auto v = r.integer(*t, "fall", path, 1, 100)) out.fall = static_cast<unsigned>(*v);
    if (auto v = r.status_ranges(*t, "expect_status", path); v && !v->empty()) out.expect_status = *v;
    if (auto v = r.string(*t, "expect_body", path)) out.expect_body = *v;
    if (auto v = r.integer(*t, "max_fails", path, 0, 1000)) out.max_fails = static_cast<unsigned>(*v);
    if (auto v = r.duration(*t, "fail_timeout", path, true)) out.fail_timeout = *v;
    if (auto v = r.duration(*t, "fail_timeout_max", path, true)) out.fail_timeout_max = *v;
    if (auto v = r.boolean(*t, "fail_on_5xx", path)) out.fail_on_5xx = *v;
}

/// A bearer token: visible ASCII only, so it fits an Authorization header unchanged.
bool valid_token(std::string_view token) {
    return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

void read_admin(reader& r, const toml::table& root, const std::string& origin, admin_config& out) {
    const std::string path = "admin";
    const auto* t = r.section(root, path, {"listen", "token_env", "token_file", "allow_no_token"});
    if (t) {
        if (const auto* node = t->get("listen"); node && node->is_string() && node->as_string()->get().empty()) {
            out.enabled = false;
        } else if (auto v = r.address(*t, "listen", path)) {
            out.listen = std::move(*v);
        }
        if (auto v = r.string(*t, "token_env", path)) out.token_env = *v;
        if (auto v = r.string(*t, "token_file", path)) out.token_file = *v;
        if (auto v = r.boolean(*t, "allow_no_token", path)) out.allow_no_token = *v;
        if (t->contains("token_env") && t->contains("token_file"))
            r.problem(t->get("token_file")->source(), "admin.token_file",
                      "set either token_env or token_file, not both");
    }
    if (!out.token_file.empty()) {
        const std::string file = relative_to(origin, out.token_file);
        const auto& where = t->get("token_file")->source();
        out.token_path = file;
        std::string text;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0 && errno == ENOENT) {
            out.token_file_missing = true;  // `gatehouse serve` creates it; check and reload say so
        } else if (auto error = read_whole_file(file, text, 4096); !error.empty()) {
            r.problem(where, "admin.token_file", "cannot read '" + file + "': " + error);
        } else if (const auto token = trim_line_ends(text); !valid_token(token)) {
            r.problem(where, "admin.token_file",
                      "'" + file + "' must hold one token of visible ASCII characters (no spaces)");
        } else {
            out.token = std::string(token);
            out.token_origin = "file " + file;
        }
    } else if (!out.token_env.empty()) {
        const char* value = std::getenv(out.token_env.c_str());
        if (value && *value) {
            if (!valid_token(value)) {
                r.problem(t && t->contains("token_env") ? t->get("token_env")->source() : toml::source_region{},
                          "admin.token_env",
                          "the environment variable " + out.token_env +
                              " must hold one token of visible ASCII characters (no spaces)");
            } else {
                out.token = value;
                out.token_origin = "environment variable " + out.token_env;
            }
        }
    }
}

void read_log(reader& r, const toml::table& root, const std::string& origin, log_config& out) {
    const std::string path = "log";
    const auto* t = r.section(root, path, {"level", "access", "access_format"});
    if (!t) return;
    if (auto v = r.choice<log_level>(*t, "level", path, {{"debug", log_level::debug}, {"info", log_level::info},
                                                          {"warning", log_level::warning}, {"error", log_level::error}}))
        out.level = *v;
    if (auto v = r.string(*t, "access", path)) {
        if (v->empty())
            r.problem(t->get("access")->source(), "log.access", "must be \"off\", \"stdout\", \"stderr\" or a file path");
        else
            out.access = (*v == "off" || *v == "stdout" || *v == "stderr") ? *v : relative_to(origin, *v);
    }
    if (auto v = r.choice<access_log_format>(*t, "access_format", path,
                                             {{"combined", access_log_format::combined}, {"json", access_log_format::json}}))
        out.access_format = *v;
}

void read_metrics(reader& r, const toml::table& root, metrics_config& out) {
    const std::string path = "metrics";
    const auto* t = r.section(root, path, {"enabled", "listen", "require_token"});
    if (!t) return;
    if (auto v = r.boolean(*t, "enabled", path)) out.enabled = *v;
    if (const auto* node = t->get("listen"); node && node->is_string() && node->as_string()->get().empty()) {
        out.own_listener = false;
    } else if (auto v = r.address(*t, "listen", path)) {
        out.listen = std::move(*v);
        out.own_listener = true;
    }
    if (auto v = r.boolean(*t, "require_token", path)) out.require_token = *v;
}

[[noreturn]] void throw_unreadable(const std::string& path, int error) {
    throw config_error({config_problem{path, 0, 0, "", std::string("cannot read file: ") + std::strerror(error)}});
}

}  // namespace

config parse_config(std::string_view text, std::string_view origin) {
    const std::string file(origin);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(file));
    } catch (const toml::parse_error& e) {
        throw config_error({config_problem{file, e.source().begin.line, e.source().begin.column, "",
                                           std::string(e.description())}});
    }
    reader r(file);
    config c;
    c.source = file;
    r.table(root, "", {"proxy", "upstream", "timeouts", "limits", "health_check", "admin", "maintenance", "log",
                       "metrics", "compression", "tls", "cluster", "resolver"});
    read_proxy(r, root, c.proxy);
    read_upstream(r, root, file, c.upstream);
    read_timeouts(r, root, c.timeouts);
    read_limits(r, root, c.limits);
    read_health_check(r, root, c.health_check);
    read_admin(r, root, file, c.admin);
    read_maintenance(r, root, file, c.maintenance);
    read_log(r, root, file, c.log);
    read_metrics(r, root, c.metrics);
    read_compression(r, root, c.compression);
    read_tls(r, root, file, c.tls);
    read_cluster(r, root, c);
    read_resolver(r, root, c.resolver);
    check_redirect_https(r, root, c);
    r.finish();
    return c;
}

config load_config(const std::string& path) {
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw_unreadable(path, errno);
    std::string contents;
    char buffer[64 * 1024];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) contents.append(buffer, n);
    if (std::ferror(file.get())) throw_unreadable(path, errno);
    return parse_config(contents, path);
}

std::vector<std::string> config_warnings(const config& c) {
    std::vector<std::string> out;
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores != 0 && c.proxy.workers > cores)
        out.push_back("proxy.workers = " + std::to_string(c.proxy.workers) + " is more than the " +
                      std::to_string(cores) + " CPU cores");
    const auto& hc = c.health_check;
    if (hc.enabled && hc.path.rfind("/api/", 0) != 0)
        out.push_back("health_check.path = \"" + hc.path +
                      "\" is not under /api/: a NocoBase node answers every other path with 200 HTML, even while "
                      "it is starting or broken, so the check would always pass");
    if (hc.enabled && hc.timeout > hc.interval)
        out.push_back("health_check.timeout is longer than health_check.interval");
    if (c.upstream.keepalive == 0)
        out.push_back("upstream.keepalive = 0: every request opens a new connection to a node");
    if (c.upstream.keepalive != 0 && c.timeouts.upstream_idle >= std::chrono::seconds(5))
        out.push_back("timeouts.upstream_idle is 5 s or more: Node.js closes idle connections after 5 s, so a "
                      "request may meet a connection the node is closing (a POST is then answered 502, never "
                      "sent twice)");
    if (c.proxy.request_buffering && ::access(c.limits.request_buffer_dir.c_str(), W_OK | X_OK) != 0)
        out.push_back("limits.request_buffer_dir = \"" + c.limits.request_buffer_dir + "\" is not a writable directory (" +
                      std::strerror(errno) + "): request bodies larger than limits.request_buffer_memory will get 500");
    const auto& nodes = c.upstream.nodes;
    const bool any_tls = std::any_of(nodes.begin(), nodes.end(), [](const node_config& n) { return n.tls; });
    if (any_tls && !c.upstream.tls.verify)
        out.push_back("upstream.tls.verify = false: the certificates of the https:// nodes are not checked, so "
                      "anyone on the path to a node can read and change its traffic");
    const auto& t = c.upstream.tls;
    if (!any_tls && (!t.ca_file.empty() || !t.sni.empty() || !t.cert_file.empty() || !t.verify))
        out.push_back("[upstream.tls] is set but no node address is https://: it is not used");
    return out;
}

}  // namespace gatehouse::config
