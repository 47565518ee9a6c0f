// Active health checks of every node, on the control thread; results are published through node_status atomics.
#pragma once

#include <gatehouse/health/health_state.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace gatehouse::health {

/// Checks each node every interval (plus jitter) over its own connection, never on a worker. A change of
/// health is one atomic store that every worker sees at its next request, and one log line with the reason.
/// All calls on the control thread.
class health_checker {
public:
    health_checker(net::io_context& control, model::snapshot_ptr snapshot);
    ~health_checker();
    health_checker(const health_checker&) = delete;
    health_checker& operator=(const health_checker&) = delete;

    /// Checks every node once, concurrently; completes when each has answered or timed out.
    net::awaitable<void> check_all_once();
    /// Starts the periodic checks.
    void start();
    /// Stops them (pending checks finish on their own and change nothing).
    void stop();

private:
    struct tracked_node {
        const model::node* node;
        health_state state;
        std::unique_ptr<net::steady_timer> timer;
    };

    net::awaitable<void> check(std::size_t index);
    net::awaitable<void> loop(std::size_t index);

    net::io_context& control_;
    model::snapshot_ptr snapshot_;
    std::vector<tracked_node> nodes_;
    std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
    std::minstd_rand random_{std::random_device{}()};
};

}  // namespace gatehouse::health
