// Applying DNS answers to the configured nodes, comparing node lists, and the lookup schedule.
#include <gatehouse/discovery/node_set.hpp>

#include <algorithm>

namespace gatehouse::discovery {

namespace {

bool is_v6(const std::string& address) { return address.find(':') != std::string::npos; }

std::string host_port(const std::string& ip, std::uint16_t port) {
    return (is_v6(ip) ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

/// The address a static node takes from an answer: the first IPv4 one, else the first IPv6 one.
const std::string& preferred(const std::vector<std::string>& addresses) {
    for (const auto& a : addresses)
        if (!is_v6(a)) return a;
    return addresses.front();
}

config::node_config dns_node(const config::dns_config& d, const std::string& ip) {
    config::node_config n;
    n.name = dns_node_name(d.name, ip);
    n.address = config::socket_address{host_port(ip, d.port), ip, d.port, is_v6(ip)};
    n.weight = d.weight;
    n.tls = d.tls;
    n.host = d.name;
    n.host_is_ip = false;
    n.dns_name = d.name;
    return n;
}

}  // namespace

std::vector<watched_name> names_to_watch(const config::upstream_config& upstream,
                                         std::chrono::milliseconds static_refresh) {
    std::vector<watched_name> out;
    const auto seen = [&out](const std::string& name) {
        return std::any_of(out.begin(), out.end(), [&](const watched_name& w) { return w.name == name; });
    };
    for (const auto& d : upstream.dns) out.push_back({d.name, d.refresh, true});
    for (const auto& n : upstream.nodes)
        if (!n.host_is_ip && !seen(n.host)) out.push_back({n.host, static_refresh, false});
    return out;
}

std::string dns_node_name(const std::string& dns_name, const std::string& address) {
    return dns_name + "@" + address;
}

std::vector<config::node_config> expand_nodes(const config::upstream_config& upstream, const answers& known) {
    std::vector<config::node_config> out = upstream.nodes;
    for (auto& n : out) {
        if (n.host_is_ip) continue;
        const auto it = known.find(n.host);
        if (it == known.end() || it->second.empty()) continue;  // the address found at load stays
        const auto& ip = preferred(it->second);
        n.address.ip = ip;
        n.address.is_v6 = is_v6(ip);
    }
    for (const auto& d : upstream.dns) {
        const auto it = known.find(d.name);
        if (it == known.end()) continue;
        for (const auto& ip : it->second) out.push_back(dns_node(d, ip));
    }
    return out;
}

node_change compare(const std::vector<config::node_config>& before, const std::vector<config::node_config>& after) {
    node_change c;
    const auto find = [](const std::vector<config::node_config>& in, const std::string& name) {
        return std::find_if(in.begin(), in.end(), [&](const config::node_config& n) { return n.name == name; });
    };
    for (const auto& n : after) {
        const auto old = find(before, n.name);
        if (old == before.end()) c.added.push_back(n.name + " (" + n.address.ip + ")");
        else if (old->address.ip != n.address.ip)
            c.readdressed.push_back(n.name + ": " + old->address.ip + " -> " + n.address.ip);
    }
    for (const auto& n : before)
        if (find(after, n.name) == after.end()) c.removed.push_back(n.name + " (" + n.address.ip + ")");
    return c;
}

std::vector<std::string> normalized(std::vector<std::string> addresses) {
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    return addresses;
}

std::chrono::milliseconds next_lookup_in(std::chrono::milliseconds refresh, unsigned failures) noexcept {
    if (failures == 0) return refresh;
    const auto shift = std::min(failures - 1, 20u);
    return std::min(refresh, std::chrono::milliseconds(1000LL << shift));
}

std::vector<std::string> unanswered_dns_names(const config::upstream_config& upstream) {
    std::vector<std::string> out;
    for (const auto& d : upstream.dns) {
        const bool answered = std::any_of(upstream.nodes.begin(), upstream.nodes.end(),
                                          [&](const config::node_config& n) { return n.dns_name == d.name; });
        if (!answered) out.push_back(d.name);
    }
    return out;
}

}  // namespace gatehouse::discovery
