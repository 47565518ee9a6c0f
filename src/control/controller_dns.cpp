// The controller's side of nodes from DNS: the start-up lookups, answers turned into snapshots (the node-list swap
// a reload shares), the status.
#include <gatehouse/control/controller.hpp>

#include "worker_latch.hpp"

#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/discovery/node_set.hpp>
#include <gatehouse/log/event_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>

namespace gatehouse::control {

namespace json = boost::json;

std::shared_ptr<const config::config> controller::with_answers(
    const std::shared_ptr<const config::config>& configured) const {
    if (!dns_) return configured;
    auto nodes = discovery::expand_nodes(configured->upstream, dns_->known());
    if (nodes.size() > balancer::max_nodes) {
        log::warning("dns: " + std::to_string(nodes.size()) + " nodes, only the first " +
                     std::to_string(balancer::max_nodes) + " are used");
        nodes.resize(balancer::max_nodes);
    }
    if (nodes.size() == configured->upstream.nodes.size() && discovery::compare(configured->upstream.nodes, nodes).empty())
        return configured;
    auto out = std::make_shared<config::config>(*configured);
    out->upstream.nodes = std::move(nodes);
    return out;
}

void controller::watch_names(const config::config& configured) {
    auto names = discovery::names_to_watch(configured.upstream, configured.resolver.refresh);
    std::unique_ptr<discovery::dns_watch> previous = std::move(dns_);
    if (!names.empty()) {
        dns_ = std::make_unique<discovery::dns_watch>(
            control_, configured.resolver, std::move(names),
            [this] { net::co_spawn(control_, apply_answers(), net::detached); }, previous.get());
        if (discovery_started_) dns_->start();  // a reload; at start-up it starts after the first health round
    }
}

void controller::start_discovery() {
    watch_names(*configured_);
    if (!dns_) return;
    bool done = false;
    net::co_spawn(control_, dns_->lookup_all_once(), [&done](std::exception_ptr) { done = true; });
    auto guard = net::make_work_guard(control_);
    while (!done && control_.run_one() > 0) {
    }
    guard.reset();
    control_.restart();
    for (const auto& n : dns_->names())
        if (n.name.discovers_nodes && n.addresses.empty())
            log::warning("dns: no address for " + n.name.name + " yet (" + n.last_error + "): no node from it");
    // The workers run once start-up is over; each takes this snapshot before its first connection.
    const auto next = with_answers(configured_);
    if (next == snapshot_->config) return;
    snapshot_ = model::build_snapshot(next, ++generation_, snapshot_.get(), state_, access_log_);
    for (auto& w : workers_) w->post_snapshot(snapshot_, {});
}

net::awaitable<void> controller::apply_answers() {
    if (applying_answers_) {
        answers_pending_ = true;  // the change being applied re-reads the answers once it is done
        co_return;
    }
    applying_answers_ = true;
    do {
        answers_pending_ = false;
        auto next = with_answers(configured_);
        const auto change = discovery::compare(snapshot_->config->upstream.nodes, next->upstream.nodes);
        if (change.empty()) continue;
        std::string text = "dns: nodes changed:";
        for (const auto& a : change.added) text += " added " + a + " (takes traffic after a passing check);";
        for (const auto& a : change.removed) text += " removed " + a + ";";
        for (const auto& a : change.readdressed) text += " re-addressed " + a + ";";
        log::info(text);
        std::vector<std::string> warnings;
        install_snapshot(std::move(next), nullptr, warnings);
        for (const auto& w : warnings) log::warning("dns: " + w);
        if (!warnings.empty())
            if (auto w = persist(); !w.empty()) log::error(w);
        // Captures nothing it owns: GCC destroys a temporary of a co_await expression twice (PR 100611), which
        // for a captured snapshot_ptr would free the snapshot the workers are reading.
        co_await detail::ask_every_worker<bool>(control_, workers_, [this](worker_handle& w, auto reply) {
            w.post_snapshot(snapshot_, [reply] { reply(true); });
        });
    } while (answers_pending_);
    applying_answers_ = false;
}

void controller::install_snapshot(std::shared_ptr<const config::config> next,
                                  std::shared_ptr<const tls::server_tls> tls, std::vector<std::string>& warnings) {
    std::vector<std::string> names;
    for (const auto& n : next->upstream.nodes) names.push_back(n.name);
    for (auto& d : state_.keep_only(names, discovery::unanswered_dns_names(next->upstream)))
        warnings.push_back(d + " dropped: the node is no longer configured");
    const auto previous = snapshot_;
    if (!next->health_check.enabled) {
        // Nobody checks any more: every node is presumed up (passive checks still eject failing ones).
        for (const auto& n : previous->nodes) n.status->health.store(model::node_health::up, std::memory_order_relaxed);
    }
    snapshot_ = model::build_snapshot(std::move(next), ++generation_, previous.get(), state_, access_log_, std::move(tls));

    // Health checks: nodes that stayed keep their counts and history; new ones take traffic after a pass.
    std::unique_ptr<health::health_checker> old_checker = std::move(health_);
    if (snapshot_->config->health_check.enabled) {
        health_ = std::make_unique<health::health_checker>(control_, snapshot_, old_checker.get());
        for (const auto& n : snapshot_->nodes)
            if (n.admin == node_admin::disabled) health_->set_paused(n.index, true);
    }
    if (old_checker) old_checker->stop();
    old_checker.reset();
    if (health_) health_->start();
}

json::array controller::dns_json() const {
    json::array out;
    if (!dns_) return out;
    for (const auto& n : dns_->names()) {
        json::array addresses;
        for (const auto& a : n.addresses) addresses.push_back(json::value(a));
        std::size_t nodes = 0;
        for (const auto& node : snapshot_->nodes) nodes += node.dns_name == n.name.name ? 1 : 0;
        out.push_back(json::object{{"name", n.name.name},
                                   {"kind", n.name.discovers_nodes ? "upstream.dns" : "node host"},
                                   {"refresh_ms", n.name.refresh.count()},
                                   {"addresses", std::move(addresses)},
                                   {"nodes", nodes},
                                   {"lookups_ok_total", n.lookups_ok},
                                   {"lookups_failed_total", n.lookups_failed},
                                   {"consecutive_failures", n.consecutive_failures},
                                   {"last_error", n.last_error},
                                   {"last_ok_unix_ms", n.last_ok_unix_ms}});
    }
    return out;
}

}  // namespace gatehouse::control
