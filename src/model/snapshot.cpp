// Turning a validated configuration into the snapshot the workers read.
#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/model/snapshot.hpp>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace gatehouse::model {

std::string fill_page(std::string_view page, std::string_view reason) {
    std::string escaped;
    for (char c : reason) {
        switch (c) {
        case '<': escaped += "&lt;"; break;
        case '>': escaped += "&gt;"; break;
        case '&': escaped += "&amp;"; break;
        case '"': escaped += "&quot;"; break;
        case '\'': escaped += "&#39;"; break;
        default: escaped += c;
        }
    }
    constexpr std::string_view placeholder = "{{reason}}";
    std::string out;
    std::size_t from = 0;
    for (auto at = page.find(placeholder); at != std::string_view::npos; at = page.find(placeholder, from)) {
        out.append(page.substr(from, at - from)).append(escaped);
        from = at + placeholder.size();
    }
    out.append(page.substr(from));
    return out;
}

namespace {

/// The TLS client context of the https:// nodes: the previous snapshot's when [upstream.tls] did not change (pooled
/// connections and health then carry over), else a new one.
std::shared_ptr<node_tls::ssl::context> node_tls_context(const config::config& c, const snapshot* previous) {
    const auto& t = c.upstream.tls;
    if (previous) {
        const auto& p = previous->config->upstream.tls;
        const bool same = p.ca_pem == t.ca_pem && p.verify == t.verify && p.sni == t.sni && p.cert_pem == t.cert_pem &&
                          p.key_pem == t.key_pem;
        if (same)
            for (const auto& n : previous->nodes)
                if (n.tls) return n.tls;
    }
    return node_tls::make_context(t);
}

}  // namespace

bool same_peer(const node& a, const node& b) noexcept {
    return a.name == b.name && a.endpoint == b.endpoint && a.tls == b.tls && a.tls_names.sni == b.tls_names.sni &&
           a.tls_names.verify_name == b.tls_names.verify_name;
}

snapshot_ptr build_snapshot(std::shared_ptr<const config::config> config, std::uint64_t generation,
                            const snapshot* previous, const operator_state& ops,
                            std::shared_ptr<log::access_log_sink> access_log,
                            std::shared_ptr<const tls::server_tls> tls) {
    if (config->upstream.nodes.size() > balancer::max_nodes)
        throw std::invalid_argument("at most " + std::to_string(balancer::max_nodes) + " upstream nodes are supported");
    auto s = std::make_shared<snapshot>();
    s->generation = generation;
    s->tls = tls ? std::move(tls) : previous ? previous->tls : nullptr;
    s->nodes.reserve(config->upstream.nodes.size());
    std::shared_ptr<node_tls::ssl::context> tls_context;
    for (const auto& n : config->upstream.nodes) {
        node out;
        out.index = s->nodes.size();
        out.name = n.name;
        out.address = n.address.text;
        out.dns_name = n.dns_name;
        out.endpoint = tcp::endpoint(net::ip::make_address(n.address.ip), n.address.port);
        out.weight = n.weight;
        if (n.tls) {
            if (!tls_context) tls_context = node_tls_context(*config, previous);
            out.tls = tls_context;
            out.tls_names = node_tls::names_for(n, config->upstream.tls);
        }
        if (previous) {
            for (const auto& old : previous->nodes)
                if (same_peer(old, out)) out.status = old.status;
        }
        if (!out.status) {
            out.status = std::make_shared<node_status>();
            if (!config->health_check.enabled) out.status->health.store(node_health::up);
        }
        out.admin = ops.admin_of(out.name);
        out.takes_new_requests = out.admin == node_admin::active &&
                                 (ops.pinned_node.empty() || ops.pinned_node == out.name);
        if (ops.pinned_node == out.name) s->pinned = out.index;
        if (ops.maintenance.verify_node == out.name) s->maintenance.verify_node = out.index;
        s->nodes.push_back(std::move(out));
    }
    if (!s->pinned && !ops.pinned_node.empty())
        for (auto& n : s->nodes) n.takes_new_requests = n.admin == node_admin::active;  // pin to a gone node
    const auto& page = config->maintenance.page_html;
    s->maintenance.enabled = ops.maintenance.enabled;
    s->maintenance.message =
        ops.maintenance.reason.empty() ? "The application is being upgraded" : ops.maintenance.reason;
    if (!page.empty()) {
        s->maintenance.html_page = fill_page(page, s->maintenance.message);
        s->starting_html_page = fill_page(page, "The application is starting");
        s->unavailable_html_page = fill_page(page, "No node of the cluster is available");
    }
    s->access_log = std::move(access_log);
    s->config = std::move(config);
    return s;
}

}  // namespace gatehouse::model
