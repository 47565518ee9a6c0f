// Operator actions and reload on the control thread; snapshots published to every worker.
#include <gatehouse/control/controller.hpp>

#include "worker_latch.hpp"

#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/config/admin_token.hpp>
#include <gatehouse/config/load.hpp>
#include <gatehouse/config/loopback_only.hpp>
#include <gatehouse/discovery/node_set.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/endpoints.hpp>
#include <gatehouse/tls/server_tls.hpp>

#include <boost/asio/co_spawn.hpp>

#include <algorithm>

namespace gatehouse::control {
namespace json = boost::json;
using detail::ask_every_worker;

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}


controller::controller(net::io_context& control, config::config cfg, options opts)
    : control_(control), options_(std::move(opts)), started_unix_ms_(unix_now_ms()) {
    const auto& state_file = cfg.maintenance.state_file;
    if (!state_file.empty()) {
        try {
            bool found = false;
            state_ = load_state_file(state_file, found);
            if (found) {
                std::vector<std::string> names;
                for (const auto& n : cfg.upstream.nodes) names.push_back(n.name);
                // Nodes of [[upstream.dns]] names come with the first answers, after this: theirs wait for them.
                for (const auto& d : state_.keep_only(names, discovery::unanswered_dns_names(cfg.upstream)))
                    log::warning("state file " + state_file + ": " + d + " ignored: no such node is configured");
                std::string summary = state_.maintenance.enabled
                                          ? "maintenance on (" + state_.maintenance.reason + ")"
                                          : std::string("maintenance off");
                for (const auto& [name, admin] : state_.nodes) summary += ", " + name + " " + to_string(admin);
                if (!state_.pinned_node.empty()) summary += ", pinned to " + state_.pinned_node;
                log::info("restored operator state from " + state_file + ": " + summary);
            }
        } catch (const std::exception& e) {
            // Starting without it would silently forget maintenance (and send visitors to nodes being upgraded).
            throw std::runtime_error(std::string(e.what()) +
                                     " (fix or remove the file to start without the saved maintenance, drains and pin)");
        }
    }
    if (options_.start_in_maintenance && !state_.maintenance.enabled) {
        state_.maintenance.enabled = true;
        state_.maintenance.since_unix_ms = unix_now_ms();
        if (state_.maintenance.reason.empty()) state_.maintenance.reason = "Maintenance";
    }
    access_log_ = log::access_log_sink::open(cfg.log);  // throws (start-up) when the file cannot be opened
    auto certificates = load_certificates(cfg);
    auto shared = std::make_shared<const config::config>(std::move(cfg));
    configured_ = shared;
    snapshot_ = model::build_snapshot(shared, generation_, nullptr, state_, access_log_, std::move(certificates));
    if (options_.start_in_maintenance) {
        log::info("starting in maintenance mode (--maintenance)");
        if (auto w = persist(); !w.empty()) log::error(w);
    }
}

controller::~controller() {
    stop_health_checks();
    dns_.reset();
    cluster_.reset();
}

std::shared_ptr<const tls::server_tls> controller::load_certificates(const config::config& cfg) {
    auto loaded = tls::load_server_tls(cfg.tls, cfg.source);
    if (!loaded.problems.empty()) {
        std::string text;
        for (const auto& p : loaded.problems) text.append(text.empty() ? "" : "\n").append(p);
        throw std::runtime_error(text);
    }
    for (const auto& w : loaded.warnings) log::warning(w);
    return std::move(loaded.tls);
}

void controller::attach(worker_handles workers) { workers_ = std::move(workers); }

void controller::start_health_checks() {
    if (!snapshot_->config->health_check.enabled) {
        discovery_started_ = true;
        if (dns_) dns_->start();
        return;
    }
    health_ = std::make_unique<health::health_checker>(control_, snapshot_);
    for (const auto& n : snapshot_->nodes)
        if (n.admin == node_admin::disabled) health_->set_paused(n.index, true);
    // A node takes traffic only after a passing check: run the first round before accepting anyone.
    bool checked = false;
    net::co_spawn(control_, health_->check_all_once(), [&checked](std::exception_ptr) { checked = true; });
    while (!checked && control_.run_one() > 0) {
    }
    control_.restart();
    health_->start();
    discovery_started_ = true;
    if (dns_) dns_->start();  // only now: an answer that changes installs a new checker
}

void controller::stop_health_checks() {
    if (health_) health_->stop();
}

std::optional<std::size_t> controller::node_index(const std::string& name) const {
    for (const auto& n : snapshot_->nodes)
        if (n.name == name) return n.index;
    return std::nullopt;
}

std::string controller::persist() {
    const auto& path = snapshot_->config->maintenance.state_file;
    if (path.empty()) return "";
    if (auto error = save_state_file(path, state_); !error.empty())
        return "operator state not saved (it will not survive a restart): " + error;
    return "";
}

net::awaitable<void> controller::publish() {
    snapshot_ = model::build_snapshot(snapshot_->config, ++generation_, snapshot_.get(), state_, access_log_);
    if (workers_.empty()) co_return;
    const auto applied = co_await ask_every_worker<bool>(control_, workers_, [this](worker_handle& w, auto reply) {
        w.post_snapshot(snapshot_, [reply] { reply(true); });
    });
    if (std::find(applied.begin(), applied.end(), false) != applied.end())
        log::error("bug: a worker did not take the new snapshot within 2 s");
}

net::awaitable<action_result> controller::apply(std::string what, std::string actor) {
    // Stamped before the wait below, so a state from another replica arriving meanwhile is seen as the older one.
    if (cluster_) cluster_->local_change(state_);
    co_await publish();
    action_result r;
    if (auto w = persist(); !w.empty()) {
        log::error(w);
        r.warnings.push_back(std::move(w));
    }
    log::info("admin: " + what + " (by " + actor + ")");
    co_return r;
}

net::awaitable<action_result> controller::set_maintenance(bool enabled, std::string reason, std::string verify_node,
                                                          std::string actor) {
    if (!verify_node.empty() && !node_index(verify_node))
        co_return action_result{false, 404, "unknown node '" + verify_node + "'", {}, {}};
    auto& m = state_.maintenance;
    if (enabled) {
        if (!m.enabled) m.since_unix_ms = unix_now_ms();
        m.enabled = true;
        m.reason = std::move(reason);
        m.verify_node = std::move(verify_node);
        std::string what = "maintenance on";
        if (!m.reason.empty()) what += " (reason: " + m.reason + ")";
        if (!m.verify_node.empty()) what += ", bypassed requests go to " + m.verify_node;
        co_return co_await apply(std::move(what), std::move(actor));
    }
    std::string what = m.enabled ? "maintenance off" : "maintenance off (it was off)";  // named: GCC PR 100611
    m = maintenance_state{};
    co_return co_await apply(std::move(what), std::move(actor));
}

net::awaitable<action_result> controller::set_node_admin(std::string node, node_admin admin, std::string actor) {
    const auto index = node_index(node);
    if (!index) co_return action_result{false, 404, "unknown node '" + node + "'", {}, {}};
    const auto before = state_.admin_of(node);
    if (admin != node_admin::active && state_.pinned_node == node)
        co_return action_result{false, 409, "node '" + node + "' is pinned: unpin before draining or disabling it",
                                {}, {}};
    if (admin == node_admin::active) state_.nodes.erase(node);
    else state_.nodes[node] = admin;
    // Checks pause before the workers stop sending requests, and a re-enabled node is "unknown" (no traffic until
    // a check passes) before the workers may send it any. The checker is rebuilt with every reload, so its node
    // indexes are the current snapshot's.
    if (health_) {
        if (admin == node_admin::disabled) health_->set_paused(*index, true);
        else if (before == node_admin::disabled) health_->set_paused(*index, false);
    }
    std::string what = node + " " + (admin == node_admin::active ? "enabled" : to_string(admin));
    if (admin == node_admin::draining) what += ": no new requests, those in flight finish";
    if (admin == node_admin::disabled) what += ": no requests, no health checks";
    co_return co_await apply(std::move(what), std::move(actor));
}

net::awaitable<action_result> controller::pin(std::string node, std::string actor) {
    if (!node_index(node)) co_return action_result{false, 404, "unknown node '" + node + "'", {}, {}};
    if (const auto admin = state_.admin_of(node); admin != node_admin::active)
        co_return action_result{false, 409,
                                "node '" + node + "' is " + to_string(admin) + ": enable it before pinning to it", {}, {}};
    state_.pinned_node = node;
    std::string what = "pinned to " + node + ": every new request goes to it, the other nodes drain";
    co_return co_await apply(std::move(what), std::move(actor));
}

net::awaitable<action_result> controller::unpin(std::string actor) {
    std::string what = state_.pinned_node.empty() ? "unpinned (no node was pinned)" : "unpinned: normal balancing";
    state_.pinned_node.clear();
    co_return co_await apply(std::move(what), std::move(actor));
}

/// A reload between its steps: what changes, prepared before anything changed.
struct controller::reload_plan {
    std::shared_ptr<const config::config> next;  ///< as read from the file (DNS answers are applied at commit)
    std::shared_ptr<log::access_log_sink> access_log;
    std::vector<tcp::endpoint> added, removed;  ///< listen addresses
    std::shared_ptr<const tls::server_tls> tls;  ///< the certificates, read again
    std::vector<std::string> tls_warnings;       ///< certificates that expire soon
};

net::awaitable<action_result> controller::reload(std::string actor) {
    if (options_.config_path.empty()) co_return action_result{false, 409, "no configuration file to reload", {}, {}};
    if (reloading_) {
        log::warning("reload requested by " + actor + " while another one is in progress: ignored");
        co_return action_result{false, 409, "a reload is in progress; try again", {}, {}};
    }
    reloading_ = true;
    struct reload_flag {
        bool& flag;
        ~reload_flag() { flag = false; }
    } reload_guard{reloading_};

    // Everything that can fail comes first, so a failed reload changes nothing.
    reload_plan plan;
    auto problems = load_next(plan);
    if (problems.empty()) problems = open_access_log(plan);
    if (problems.empty()) problems = co_await prepare_listeners(plan);
    if (!problems.empty()) co_return reload_failed(actor, std::move(problems));

    // Nothing fails from here on.
    action_result r;
    co_await commit(plan, r);
    report_reload(actor, plan, r);
    co_return r;
}

std::vector<std::string> controller::load_next(reload_plan& plan) const {
    std::optional<config::config> loaded;
    try {
        loaded = config::load_config(options_.config_path);
    } catch (const config::config_error& e) {
        std::vector<std::string> problems;
        for (const auto& p : e.problems()) problems.push_back(p.to_string());
        return problems;
    }
    if (options_.admin_allow_no_token) loaded->admin.allow_no_token = true;
    if (options_.loopback_only) config::move_listeners_to_loopback(*loaded);
    if (auto p = config::admin_token_problem(*loaded, !loaded->admin.allow_no_token)) return {p->to_string()};
    plan.next = std::make_shared<const config::config>(std::move(*loaded));
    if (plan.next->upstream.nodes.size() > balancer::max_nodes)
        return {options_.config_path + ": upstream.node: at most " + std::to_string(balancer::max_nodes) +
                " nodes are supported"};
    // Certificates and keys are read again: a bad one fails the reload, and the old ones stay in use.
    auto certificates = tls::load_server_tls(plan.next->tls, options_.config_path);
    if (!certificates.problems.empty()) return std::move(certificates.problems);
    plan.tls = std::move(certificates.tls);
    plan.tls_warnings = std::move(certificates.warnings);
    return {};
}

std::vector<std::string> controller::open_access_log(reload_plan& plan) const {
    const auto& old = *snapshot_->config;
    const auto& next = *plan.next;
    plan.access_log = access_log_;
    if (next.log.access == old.log.access && next.log.access_format == old.log.access_format) return {};
    try {
        plan.access_log = log::access_log_sink::open(next.log);
    } catch (const std::system_error& e) {
        return {options_.config_path + ": log.access: " + e.what()};
    }
    return {};
}

net::awaitable<std::vector<std::string>> controller::prepare_listeners(reload_plan& plan) {
    // The new listeners are opened on every worker before anything changes.
    const auto old_endpoints = listen_endpoints(*snapshot_->config);
    const auto new_endpoints = listen_endpoints(*plan.next);
    const auto absent = [](const std::vector<tcp::endpoint>& from, const tcp::endpoint& e) {
        return std::find(from.begin(), from.end(), e) == from.end();
    };
    for (const auto& e : new_endpoints)
        if (absent(old_endpoints, e)) plan.added.push_back(e);
    for (const auto& e : old_endpoints)
        if (absent(new_endpoints, e)) plan.removed.push_back(e);
    for (const auto& e : plan.added) {
        // A port we listen on already (another address of it) would fail the probe against ourselves.
        const bool ours = std::any_of(old_endpoints.begin(), old_endpoints.end(),
                                      [&](const tcp::endpoint& o) { return o.port() == e.port(); });
        try {
            if (!ours) ensure_address_free(e);
        } catch (const std::system_error& error) {
            co_return std::vector<std::string>{options_.config_path + ": proxy.listen: " + error.what()};
        }
    }
    if (plan.added.empty() || workers_.empty()) co_return std::vector<std::string>{};
    // Each worker opens its acceptors on its own thread and keeps them aside until the reload commits.
    const auto errors = co_await ask_every_worker<std::string>(
        control_, workers_, [&plan](worker_handle& w, auto reply) { w.post_open_listeners(plan.added, reply); },
        "no answer from the worker");
    for (const auto& error : errors) {
        if (error.empty()) continue;
        for (auto& w : workers_) w->post_discard_listeners();
        co_return std::vector<std::string>{options_.config_path + ": proxy.listen: " + error};
    }
    co_return std::vector<std::string>{};
}

action_result controller::reload_failed(const std::string& actor, std::vector<std::string> problems) {
    ++reloads_failed_;
    action_result r{false, 400, "the configuration has errors; the running configuration stays", std::move(problems), {}};
    std::string text =
        "reload of " + options_.config_path + " failed (by " + actor + "), keeping the running configuration:";
    for (const auto& p : r.problems) text += "\n  " + p;
    log::error(text);
    return r;
}

namespace {

/// What a reload to `next` cannot change at once, and the configuration's own warnings.
std::vector<std::string> reload_warnings(const config::config& next, const config::config& old) {
    std::vector<std::string> out = config::config_warnings(next);
    if (next.proxy.workers != old.proxy.workers)
        out.push_back("proxy.workers changed: the number of workers changes only with a restart");
    if (next.admin.enabled != old.admin.enabled || next.admin.listen.text != old.admin.listen.text)
        out.push_back("admin.listen changed: the admin listener moves only with a restart");
    if (next.metrics.own_listener != old.metrics.own_listener || next.metrics.listen.text != old.metrics.listen.text)
        out.push_back("metrics.listen changed: the metrics listener moves only with a restart");
    std::vector<std::string> next_tls, old_tls;
    for (const auto& a : next.tls.listen) next_tls.push_back(a.text);
    for (const auto& a : old.tls.listen) old_tls.push_back(a.text);
    if (next_tls != old_tls)
        out.push_back("tls.listen changed: TLS listeners move only with a restart (certificates are reloaded)");
    if (next.cluster.redis_url != old.cluster.redis_url || next.cluster.key != old.cluster.key ||
        next.cluster.channel != old.cluster.channel || next.cluster.name != old.cluster.name)
        out.push_back("[cluster] changed: the link to Redis changes only with a restart");
    if (next.maintenance.state_file != old.maintenance.state_file)
        out.push_back("maintenance.state_file changed: the operator state is saved to the new file from now on");
    return out;
}

}  // namespace

net::awaitable<void> controller::commit(const reload_plan& plan, action_result& r) {
    r.warnings = reload_warnings(*plan.next, *snapshot_->config);
    r.warnings.insert(r.warnings.end(), plan.tls_warnings.begin(), plan.tls_warnings.end());
    if (plan.next->log.level != snapshot_->config->log.level)
        log::set_min_level(static_cast<log::level>(plan.next->log.level));
    access_log_ = plan.access_log;
    // The names of the new file are looked up from now on; those that stay keep their last good answer.
    watch_names(*plan.next);
    configured_ = plan.next;
    install_snapshot(with_answers(configured_), plan.tls, r.warnings);

    co_await ask_every_worker<bool>(control_, workers_, [&](worker_handle& w, auto reply) {
        w.post_commit_listeners(plan.removed);
        w.post_snapshot(snapshot_, [reply] { reply(true); });
    });
    if (auto w = persist(); !w.empty()) r.warnings.push_back(std::move(w));
}

void controller::report_reload(const std::string& actor, const reload_plan& plan, const action_result& r) {
    ++reloads_ok_;
    last_reload_unix_ms_ = unix_now_ms();
    std::string text = "reloaded " + options_.config_path + " (by " + actor + "): " +
                       std::to_string(snapshot_->nodes.size()) + " node(s)";
    for (const auto& e : plan.added) text += ", now listening on " + e.address().to_string() + ":" + std::to_string(e.port());
    for (const auto& e : plan.removed) text += ", stopped listening on " + e.address().to_string() + ":" + std::to_string(e.port());
    log::info(text);
    for (const auto& w : r.warnings) log::warning("reload: " + w);
}

std::string controller::reopen_access_log() {
    if (!access_log_) return "";
    auto error = access_log_->reopen();
    if (error.empty()) log::info("access log reopened: " + access_log_->target());
    else log::error(error);
    return error;
}

}  // namespace gatehouse::control
