// Turning a validated configuration into the snapshot the workers read.
#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/model/snapshot.hpp>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace gatehouse::model {

snapshot_ptr build_snapshot(std::shared_ptr<const config::config> config, std::uint64_t generation,
                            const snapshot* previous) {
    if (config->upstream.nodes.size() > balancer::max_nodes)
        throw std::invalid_argument("at most " + std::to_string(balancer::max_nodes) + " upstream nodes are supported");
    auto s = std::make_shared<snapshot>();
    s->generation = generation;
    s->nodes.reserve(config->upstream.nodes.size());
    for (const auto& n : config->upstream.nodes) {
        node out;
        out.index = s->nodes.size();
        out.name = n.name;
        out.address = n.address.text;
        out.endpoint = tcp::endpoint(net::ip::make_address(n.address.ip), n.address.port);
        out.weight = n.weight;
        if (previous) {
            for (const auto& old : previous->nodes)
                if (old.name == out.name && old.endpoint == out.endpoint) out.status = old.status;
        }
        if (!out.status) {
            out.status = std::make_shared<node_status>();
            if (!config->health_check.enabled) out.status->health.store(health::node_health::up);
        }
        s->nodes.push_back(std::move(out));
    }
    s->config = std::move(config);
    return s;
}

}  // namespace gatehouse::model
