// The controller's side of [cluster]: the start-up read of the shared state, adopting later states, the status.
#include <gatehouse/control/controller.hpp>

#include <gatehouse/log/event_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>

namespace gatehouse::control {

void controller::start_cluster() {
    const auto& c = config().cluster;
    if (!c.enabled) return;
    cluster_starting_ = true;
    cluster_ = std::make_unique<cluster_sync>(control_, c, state_, [this](const cluster_record& r) {
        adopt_cluster_state(r);
    });
    // The first answer (the key's value, or why Redis cannot be reached) comes before anyone is served.
    auto guard = net::make_work_guard(control_);
    const auto deadline = std::chrono::steady_clock::now() + 2 * c.timeout + std::chrono::milliseconds(500);
    while (!cluster_->contacted() && std::chrono::steady_clock::now() < deadline) control_.run_one_until(deadline);
    guard.reset();
    control_.restart();
    cluster_starting_ = false;
    if (!cluster_->contacted())
        log::warning("cluster: no answer from Redis at " + cluster_->status().redis +
                     " yet: starting with the local operator state");
    // `serve --maintenance` is an operator's switch like any other: every replica follows it.
    if (options_.start_in_maintenance) cluster_->local_change(state_);
}

void controller::adopt_cluster_state(const cluster_record& record) {
    operator_state next = record.state;
    // Checks pause before the workers stop sending requests; a re-enabled node waits for a pass (as set_node_admin).
    if (health_) {
        for (const auto& n : snapshot_->nodes) {
            const bool was = state_.admin_of(n.name) == node_admin::disabled;
            const bool now = next.admin_of(n.name) == node_admin::disabled;
            if (was != now) health_->set_paused(n.index, now);
        }
    }
    state_ = std::move(next);
    std::string summary = state_.maintenance.enabled ? "maintenance on (" + state_.maintenance.reason + ")"
                                                     : std::string("maintenance off");
    for (const auto& [name, admin] : state_.nodes) summary += ", " + name + " " + to_string(admin);
    if (!state_.pinned_node.empty()) summary += ", pinned to " + state_.pinned_node;
    log::info("cluster: operator state written by " + record.stamp.writer + " at " +
              std::to_string(record.stamp.written_unix_ms) + " (unix ms) applied: " + summary);
    if (auto w = persist(); !w.empty()) log::error(w);
    if (cluster_starting_) {
        // The workers run once start-up is over; each takes this snapshot before its first connection.
        snapshot_ = model::build_snapshot(snapshot_->config, ++generation_, snapshot_.get(), state_, access_log_);
        for (auto& w : workers_) w->post_snapshot(snapshot_, {});
        return;
    }
    net::co_spawn(control_, publish(), net::detached);
}

boost::json::object controller::cluster_json() const {
    if (!cluster_) return {{"enabled", false}};
    const auto& s = cluster_->status();
    return {{"enabled", true},
            {"name", s.name},
            {"redis", s.redis},
            {"connection", s.connection},
            {"since_unix_ms", s.since_unix_ms},
            {"last_error", s.last_error},
            {"retry_in_ms", s.connection == "unreachable" ? boost::json::value(s.retry_in_ms) : nullptr},
            {"failures_total", s.failures},
            {"updates_received_total", s.updates_received},
            {"last_write", boost::json::object{{"writer", s.last_write.writer},
                                               {"written_unix_ms", s.last_write.written_unix_ms}}}};
}

}  // namespace gatehouse::control
