// Active health checks of every node, on the control thread; results are published through node_status atomics.
#pragma once

#include <gatehouse/health/health_state.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace gatehouse::health {

/// One finished check, as /api/status shows it.
struct check_record {
    check_result result = check_result::fail;
    std::string detail;             ///< "ok", "status 500", "connect: Connection refused", "APP_STARTING"
    std::int64_t at_unix_ms = 0;    ///< when it finished (wall clock)
    std::int64_t duration_ms = 0;
};

/// What the checker knows of one node.
struct node_checks {
    health_state state{1, 1};
    std::deque<check_record> history;  ///< newest last, at most history_length
    bool paused = false;               ///< the node is disabled: not checked
    std::array<std::uint64_t, 3> results{};  ///< checks by result (pass, starting, fail), for the metrics
    metrics::histogram durations;
};

/// Checks each node every interval (plus jitter) over its own connection, never on a worker. A change of
/// health is one atomic store that every worker sees at its next request, and one log line with the reason.
/// All calls on the control thread.
class health_checker {
public:
    static constexpr std::size_t history_length = 20;

    /// `previous` (a checker being replaced by a reload): nodes that stayed (same status object) keep their
    /// rise/fall counts, history and pause.
    health_checker(net::io_context& control, model::snapshot_ptr snapshot, const health_checker* previous = nullptr);
    ~health_checker();
    health_checker(const health_checker&) = delete;
    health_checker& operator=(const health_checker&) = delete;

    /// Checks every node once, concurrently; completes when each has answered or timed out.
    net::awaitable<void> check_all_once();
    /// Starts the periodic checks.
    void start();
    /// Stops them (pending checks finish on their own and change nothing).
    void stop();

    /// Stops or resumes checking node `index` (a disabled node is being worked on). Resuming forgets what was
    /// known: the node takes traffic again only after a passing check, which starts at once.
    void set_paused(std::size_t index, bool paused);

    /// What is known of node `index` (same order as the snapshot's nodes).
    const node_checks& checks(std::size_t index) const { return nodes_[index].checks; }

private:
    struct tracked_node {
        const model::node* node;
        node_checks checks;
        std::unique_ptr<net::steady_timer> timer;
    };

    net::awaitable<void> check(std::size_t index);
    net::awaitable<void> loop(std::size_t index);

    net::io_context& control_;
    model::snapshot_ptr snapshot_;
    std::vector<tracked_node> nodes_;
    std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
    bool started_ = false;
    std::minstd_rand random_{std::random_device{}()};
};

}  // namespace gatehouse::health
