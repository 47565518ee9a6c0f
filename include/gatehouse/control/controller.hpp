// The control plane's state and every operator action: maintenance, drain/disable/enable, pin, reload, status.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/control/cluster_sync.hpp>
#include <gatehouse/control/operator_state.hpp>
#include <gatehouse/control/worker_handle.hpp>
#include <gatehouse/discovery/dns_watch.hpp>
#include <gatehouse/health/health_checker.hpp>
#include <gatehouse/log/access_log.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::control {

/// The answer to an operator action.
struct action_result {
    bool ok = true;
    unsigned status = 200;               ///< HTTP status for the admin API: 200, 400, 404, 409, 500
    std::string error;                   ///< what was wrong (when !ok)
    std::vector<std::string> problems;   ///< configuration problems (a failed reload), each "file:line:col: key: msg"
    std::vector<std::string> warnings;   ///< done, but with remarks (state not saved, a change needs a restart)
};

/// Lives on the control thread and owns what the workers read: it builds each snapshot from the configuration, the
/// operator state and the node statuses, publishes it to every worker and waits until each has it, so an action
/// applies to every request that arrives after it returns. Nothing here is called from a worker.
class controller {
public:
    struct options {
        std::string config_path;         ///< re-read by reload(); "" = reload not possible
        bool start_in_maintenance = false;
        bool admin_allow_no_token = false;  ///< applied to every reloaded configuration (`gatehouse demo`)
        bool loopback_only = false;         ///< listeners moved to loopback in every reloaded configuration
    };

    /// Restores the operator state from the state file; one that exists but cannot be read or parsed throws
    /// std::runtime_error naming the file (the start stops rather than forget maintenance).
    controller(net::io_context& control, config::config cfg, options opts);
    ~controller();
    controller(const controller&) = delete;
    controller& operator=(const controller&) = delete;

    /// The workers to publish to; set once, before start().
    void attach(worker_handles workers);

    /// Runs the first round of health checks (a node takes traffic only after a pass), then the periodic ones.
    /// Returns once the first round is over; blocks the control loop's caller (start-up only).
    void start_health_checks();
    void stop_health_checks();

    /// With [cluster]: connects to Redis and waits (at most about twice cluster.timeout) for the shared state, which
    /// replaces the local one when it is later. Call before start_health_checks() and before the workers start
    /// (start-up only; blocks the control loop's caller). Without [cluster] it does nothing.
    void start_cluster();
    /// The link to Redis as /api/status shows it; nullptr without [cluster].
    const cluster_status* cluster() const noexcept { return cluster_ ? &cluster_->status() : nullptr; }

    /// With [[upstream.dns]] or static nodes named by host: looks every name up once (at most about twice
    /// resolver.timeout), puts the answers in the snapshot, then keeps looking them up (controller_dns.cpp). Call
    /// before start_health_checks() and before the workers start (start-up only; blocks the control loop's caller).
    void start_discovery();
    /// The names looked up while running; nullptr when there is none.
    const discovery::dns_watch* dns() const noexcept { return dns_.get(); }

    const model::snapshot_ptr& snapshot() const noexcept { return snapshot_; }
    const config::config& config() const noexcept { return *snapshot_->config; }
    const operator_state& state() const noexcept { return state_; }

    // ---- operator actions (control thread; each publishes, persists and logs) ----
    net::awaitable<action_result> set_maintenance(bool enabled, std::string reason, std::string verify_node,
                                                  std::string actor);
    net::awaitable<action_result> set_node_admin(std::string node, node_admin admin, std::string actor);
    net::awaitable<action_result> pin(std::string node, std::string actor);
    net::awaitable<action_result> unpin(std::string actor);
    /// Re-reads the configuration file. On any problem the running configuration stays and the result lists them.
    net::awaitable<action_result> reload(std::string actor);

    /// Everything /api/status shows (in-flight counts are gathered from the workers).
    net::awaitable<boost::json::object> status();
    /// The maintenance part of the status.
    boost::json::object maintenance_json() const;
    /// The Prometheus exposition of every worker's counters and the control plane's state.
    net::awaitable<std::string> metrics_text();
    /// SIGUSR1: reopens the access log file (logrotate). Returns an error message or "".
    std::string reopen_access_log();

private:
    struct reload_plan;

    net::awaitable<void> publish();
    net::awaitable<std::vector<worker_counts>> gather_counts(bool with_counters);
    /// Per node: what /api/status calls its state.
    std::string node_state(const model::node& n, std::int64_t now_ms) const;
    std::optional<std::size_t> node_index(const std::string& name) const;
    std::string persist();  ///< saves state_ when a state file is configured; returns a warning or ""
    net::awaitable<action_result> apply(std::string what, std::string actor);
    /// A later state from another replica (controller_cluster.cpp): health checks paused or resumed, published.
    void adopt_cluster_state(const cluster_record& record);
    boost::json::object cluster_json() const;

    // ---- nodes from DNS (controller_dns.cpp) ----
    /// `configured` with the last good answers applied to its nodes.
    std::shared_ptr<const config::config> with_answers(const std::shared_ptr<const config::config>& configured) const;
    /// A new watch for `configured`'s names (answers of names that stay are kept); none when it has no name.
    void watch_names(const config::config& configured);
    /// An answer changed: the new node list published (nodes that stay keep their state), one change at a time.
    net::awaitable<void> apply_answers();
    /// The snapshot of `next` and a health checker carrying over the nodes that stay (reload and DNS changes);
    /// operator decisions about nodes that are gone are dropped, each with a remark in `warnings`.
    void install_snapshot(std::shared_ptr<const config::config> next, std::shared_ptr<const tls::server_tls> tls,
                          std::vector<std::string>& warnings);
    boost::json::array dns_json() const;

    // ---- reload steps: load, prepare (everything that can fail), commit, report ----
    std::vector<std::string> load_next(reload_plan& plan) const;
    std::vector<std::string> open_access_log(reload_plan& plan) const;
    net::awaitable<std::vector<std::string>> prepare_listeners(reload_plan& plan);
    net::awaitable<void> commit(const reload_plan& plan, action_result& r);
    action_result reload_failed(const std::string& actor, std::vector<std::string> problems);
    void report_reload(const std::string& actor, const reload_plan& plan, const action_result& r);

    net::io_context& control_;
    options options_;
    worker_handles workers_;
    model::snapshot_ptr snapshot_;
    std::uint64_t generation_ = 1;
    operator_state state_;
    std::unique_ptr<health::health_checker> health_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::int64_t started_unix_ms_ = 0;
    std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    bool reloading_ = false;  ///< one reload at a time (a reload waits for the workers in between)
    std::int64_t last_reload_unix_ms_ = 0;
    /// [tls]'s certificates read and checked; throws std::runtime_error with every problem (start-up).
    static std::shared_ptr<const tls::server_tls> load_certificates(const config::config& cfg);
    std::shared_ptr<log::access_log_sink> access_log_;
    std::unique_ptr<cluster_sync> cluster_;  ///< [cluster]; destroyed (its thread joined) before the rest
    bool cluster_starting_ = false;          ///< start_cluster() is waiting: the workers do not run yet
    std::shared_ptr<const config::config> configured_;  ///< as read from the file, before DNS answers
    std::unique_ptr<discovery::dns_watch> dns_;
    bool applying_answers_ = false, answers_pending_ = false;  ///< one DNS change at a time; another one queued
    bool discovery_started_ = false;  ///< start-up is over: a watch made by a reload starts at once
};

/// Milliseconds since the Unix epoch, now.
std::int64_t unix_now_ms();

}  // namespace gatehouse::control
