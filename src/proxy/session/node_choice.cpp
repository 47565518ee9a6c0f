// client_session: the tries of one request: pick a node (upstream_peer), set up the try (start_try), and after a
// failure decide whether another try follows (next_try).
#include "client_session.hpp"

#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/proxy/node_reuse.hpp>

#include <algorithm>

namespace gatehouse::proxy::detail {

template <class Stream>
std::optional<std::size_t> client_session<Stream>::upstream_peer(exchange& x, node_choice& choice) {
    if (x.nodes_generation != host_.nodes_generation()) {
        // A reload changed the node list since the last pick: node indexes mean other nodes now.
        x.nodes = host_.snapshot();
        x.nodes_generation = host_.nodes_generation();
        choice.availability = assess(x);
        choice.excluded = choice.availability.excluded;
        for (const auto& n : x.nodes->nodes)
            if (std::find(choice.tried.begin(), choice.tried.end(), n.name) != choice.tried.end())
                choice.excluded.set(n.index);
        choice.fresh_only = false;
        choice.retry_from.reset();
    }
    auto& factors = host_.weight_factors();
    const std::span<const double> weight_factors =
        choice.availability.ramping ? std::span<const double>(factors) : std::span<const double>{};
    const std::uint64_t key = x.origin.ip ? balancer::client_key(*x.origin.ip) : peer_key_;  // unknown: as its peer
    const auto picked = host_.balancer().pick({choice.excluded, key, host_.in_flight(), weight_factors});
    if (!picked) return std::nullopt;
    if (choice.retry_from && host_.counting() && x.nodes_generation == host_.nodes_generation())
        ++host_.counters().nodes[*choice.retry_from].retries;  // the request goes to another node after all
    choice.retry_from.reset();
    return picked;
}

template <class Stream>
bool client_session<Stream>::start_try(exchange& x, node_choice& choice, std::size_t picked) {
    x.node = &x.nodes->nodes[picked];
    bool reused = false;
    if (!choice.fresh_only) {
        const auto window = reuse_window_ms(x.idempotent() && resendable(x.request.get().method(), x.held));
        if (auto pooled = host_.pool().take(x.node->index, window, usable_node_connection)) {
            upstream_ = std::move(*pooled);
            reused = true;
        }
    }
    x.in_flight.emplace(host_, *this, x.node->index);
    auto others = choice.excluded;
    others.set(x.node->index);
    // An upgrade is never sent twice, even after NocoBase's "starting" 503; when only starting nodes take requests,
    // the first one's "starting" answer is the client's (another would say the same).
    x.can_retry_elsewhere = choice.tries_left > 1 && x.held && !x.websocket() && !choice.availability.to_starting &&
                            others.count() < x.nodes->nodes.size();
    return reused;
}

template <class Stream>
bool client_session<Stream>::next_try(exchange& x, node_choice& choice, attempt outcome) {
    if (outcome == attempt::retry_fresh && choice.stale_retries < max_stale_retries) {
        // The node closed a pooled connection before answering (an idle close racing our request): it never
        // saw the request, so sending it again is safe. This does not count as a try.
        ++choice.stale_retries;
        choice.fresh_only = true;
        return true;
    }
    choice.excluded.set(x.node->index);
    choice.tried.push_back(x.node->name);
    choice.retry_from = x.node->index;
    return --choice.tries_left > 0;
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template std::optional<std::size_t> client_session<S>::upstream_peer(exchange&, node_choice&);                \
    template bool client_session<S>::start_try(exchange&, node_choice&, std::size_t);                             \
    template bool client_session<S>::next_try(exchange&, node_choice&, attempt);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
