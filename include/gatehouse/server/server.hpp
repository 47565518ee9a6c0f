// Wiring: the workers, the control thread (signals, graceful stop), and the snapshot they share.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/health/health_checker.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/server/worker.hpp>

#include <memory>
#include <vector>

namespace gatehouse::server {

/// A running gatehouse. Construction opens every listener (throws std::system_error naming the address if one
/// cannot be opened); run() serves on the calling thread's control loop until SIGTERM/SIGINT and a drain.
class server {
public:
    explicit server(config::config cfg);
    ~server();

    /// Blocks until stopped; returns the process exit code (0 after a graceful stop).
    int run();

    std::size_t worker_count() const noexcept { return workers_.size(); }

private:
    void begin_shutdown(int signal_number);
    void finish();

    net::io_context control_{1};
    model::snapshot_ptr snapshot_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::size_t drained_workers_ = 0;
    bool stopping_ = false;
    std::unique_ptr<net::steady_timer> drain_timer_;
    std::unique_ptr<health::health_checker> health_;
};

/// The listen addresses of a configuration as endpoints.
std::vector<tcp::endpoint> listen_endpoints(const config::config& cfg);

}  // namespace gatehouse::server
