// The [cluster] section: the Redis server replicas share their operator state through, and this replica's name.
#include "read_files.hpp"

#include <charconv>

#include <unistd.h>

namespace gatehouse::config::detail {

namespace {

/// "<hostname>:<port of the first listen address>": distinct for replicas on one host, stable across restarts.
std::string default_name(const config& c) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "gatehouse");
    const auto port = c.proxy.listen.empty() ? 0 : c.proxy.listen.front().port;
    return std::string(host) + ":" + std::to_string(port);
}

bool parse_number(std::string_view text, unsigned max, unsigned& out) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) return false;
    out = v;
    return true;
}

}  // namespace

std::string parse_redis_url(std::string_view url, cluster_config& out) {
    constexpr std::string_view scheme = "redis://";
    const std::string expected = " (expected redis://[[user]:password@]host[:port][/db], e.g. \"redis://127.0.0.1:6379/3\")";
    if (!url.starts_with(scheme)) return std::string("'").append(url).append("' does not start with redis://") + expected;
    auto rest = url.substr(scheme.size());
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const auto credentials = rest.substr(0, at);
        const auto colon = credentials.find(':');
        if (colon == std::string_view::npos) return "the credentials before '@' need a ':' (user:password or :password)" + expected;
        out.redis_user = std::string(credentials.substr(0, colon));
        out.redis_password = std::string(credentials.substr(colon + 1));
        rest = rest.substr(at + 1);
    }
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        unsigned db = 0;
        const auto path = rest.substr(slash + 1);
        if (!path.empty() && !parse_number(path, 1'000'000, db)) return "invalid database number '" + std::string(path) + "'" + expected;
        out.redis_db = db;
        rest = rest.substr(0, slash);
    }
    std::string_view host = rest, port;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return "unclosed '[' in the host" + expected;
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') return "unexpected text after ']'" + expected;
            port = rest.substr(close + 2);
        }
    } else if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) return "no host" + expected;
    unsigned number = 6379;
    if (!port.empty() && (!parse_number(port, 65535, number) || number == 0))
        return "invalid port '" + std::string(port) + "'" + expected;
    out.redis_host = std::string(host);
    out.redis_port = static_cast<std::uint16_t>(number);
    return "";
}

void read_cluster(reader& r, const toml::table& root, config& c) {
    const std::string path = "cluster";
    auto& out = c.cluster;
    const auto* t = r.section(root, path, {"redis_url", "key", "channel", "name", "timeout", "retry_max"});
    if (!t) return;
    if (auto v = r.string(*t, "redis_url", path, presence::required)) {
        if (auto error = parse_redis_url(*v, out); !error.empty())
            r.problem(t->get("redis_url")->source(), "cluster.redis_url", error);
        out.redis_url = std::move(*v);
        out.enabled = true;
    }
    for (auto [key, target] : {std::pair{"key", &out.key}, std::pair{"channel", &out.channel}, std::pair{"name", &out.name}}) {
        auto v = r.string(*t, key, path);
        if (!v) continue;
        if (v->empty() && std::string_view(key) != "channel")
            r.problem(t->get(key)->source(), "cluster." + std::string(key), "must not be empty");
        *target = std::move(*v);
    }
    if (auto v = r.duration(*t, "timeout", path, true)) out.timeout = *v;
    if (auto v = r.duration(*t, "retry_max", path, true)) out.retry_max = *v;
    if (out.channel.empty()) out.channel = out.key + ":changes";
    if (out.name.empty()) out.name = default_name(c);
}

}  // namespace gatehouse::config::detail
