// import-nginx: `upstream` blocks (servers and their parameters, ip_hash, least_conn, keepalive) and which nodes
// gatehouse gets.
#include "translation.hpp"

#include <gatehouse/nginx/import.hpp>

#include <algorithm>
#include <charconv>

namespace gatehouse::nginx::detail {

void set_once(std::optional<sourced>& slot, sourced value, translation& t);  // import.cpp
std::string with_default_port(const std::string& host_port, const std::string& port);  // import.cpp

namespace {

std::optional<unsigned> number_of(std::string_view s) {
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return n;
}

/// One parameter of an upstream `server` line; false when it is not translated (the caller notes it).
bool read_server_parameter(const std::string& p, const directive& d, node_entry& node, translation& t) {
    const auto eq = p.find('=');
    const std::string key = p.substr(0, eq), value = eq == std::string::npos ? "" : p.substr(eq + 1);
    if (key == "weight") {
        const auto w = number_of(value);
        if (!w || *w < 1 || *w > 1000) return false;
        node.weight = *w;
        return true;
    }
    if (const auto n = key == "max_fails" ? number_of(value) : std::nullopt) {
        set_once(t.max_fails, {std::to_string(*n), d.line, d.text()}, t);
        return true;
    }
    if (key == "fail_timeout") {
        if (const auto v = duration_of(value)) {
            set_once(t.fail_timeout, {*v, d.line, d.text()}, t);
            return true;
        }
    }
    return false;
}

void read_server(const directive& d, upstream_group& group, translation& t) {
    if (d.args.empty() || d.args[0].starts_with("unix:")) {
        t.notes.push_back({d.line, d.text(), "gatehouse reaches nodes over TCP only"});
        return;
    }
    node_entry node{with_default_port(d.args[0], "80"), 1, {"", d.line, d.text()}};
    for (std::size_t i = 1; i < d.args.size(); ++i) {
        const auto& p = d.args[i];
        if (p == "backup" || p == "down") {
            t.notes.push_back({d.line, d.text(),
                               p == "backup" ? "gatehouse has no backup nodes: add it as a node and `gatehouse disable` "
                                               "it until it is needed"
                                             : "left out (down); add it as a node and `gatehouse disable` it"});
            return;
        }
        if (!read_server_parameter(p, d, node, t))
            t.notes.push_back({d.line, d.text(), "parameter " + p + " not translated"});
    }
    group.nodes.push_back(std::move(node));
}

}  // namespace

void read_upstream(const directive& d, translation& t) {
    upstream_group group{d.args.empty() ? "" : d.args[0], {}};
    for (const auto& c : d.block) {
        if (c.name == "server") {
            read_server(c, group, t);
        } else if ((c.name == "ip_hash" || c.name == "least_conn") && c.args.empty()) {
            set_once(t.balance, {c.name == "ip_hash" ? "ip_hash" : "least_request", c.line, c.text()}, t);
        } else if (const auto n = c.name == "keepalive" && c.args.size() == 1 ? number_of(c.args[0]) : std::nullopt) {
            set_once(t.keepalive, {std::to_string(*n), c.line, c.text()}, t);
        } else {
            t.notes.push_back({c.line, c.text(), c.name == "hash" ? "gatehouse balances by client address only "
                                                                    "(upstream.balance = \"ip_hash\")"
                                                                  : ""});
        }
    }
    t.upstreams.push_back(std::move(group));
}

std::vector<node_entry> chosen_nodes(translation& t) {
    std::vector<node_entry> nodes;
    auto add = [&](const node_entry& n) {
        if (std::none_of(nodes.begin(), nodes.end(), [&](const node_entry& m) { return m.address == n.address; }))
            nodes.push_back(n);
    };
    for (const auto& g : t.upstreams) {
        const bool used = std::find(t.referenced.begin(), t.referenced.end(), g.name) != t.referenced.end();
        if (used || t.referenced.empty()) {
            for (auto n : g.nodes) {
                if (t.tls_referenced.contains(g.name)) n.address = "https://" + n.address;
                add(n);
            }
        } else {
            t.notes.push_back({0, "upstream " + g.name, "no proxy_pass uses it: its servers are left out"});
        }
    }
    for (const auto& n : t.direct_nodes) add(n);
    return nodes;
}

}  // namespace gatehouse::nginx::detail
