// Wiring: the workers, the control thread (controller, admin API, signals, graceful stop).
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/server/worker.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gatehouse::control {
class controller;
}
namespace gatehouse::admin {
class admin_server;
}

namespace gatehouse::server {

struct server_options {
    std::string config_path;           ///< the file SIGHUP and POST /api/reload re-read ("" = none)
    bool start_in_maintenance = false; ///< `serve --maintenance`
    bool admin_allow_no_token = false; ///< `gatehouse demo`: admin.allow_no_token holds for reloads too
    bool loopback_only = false;        ///< `gatehouse demo` without --public: listeners on loopback, reloads too
};

/// A running gatehouse. Construction opens every listener, the admin one included (throws std::system_error naming
/// the address if one cannot be opened); run() serves on the calling thread's control loop until SIGTERM/SIGINT
/// and a drain. SIGHUP reloads the configuration; SIGUSR1 reopens the access log.
class server {
public:
    server(config::config cfg, server_options options = {});
    ~server();

    /// Blocks until stopped; returns the process exit code (0 after a graceful stop).
    int run();

    std::size_t worker_count() const noexcept { return workers_.size(); }

private:
    void begin_shutdown(int signal_number);
    void finish();
    void start_watchdog();
    void start_listeners_and_notify();

    net::io_context control_{1};
    std::unique_ptr<control::controller> controller_;
    std::unique_ptr<admin::admin_server> admin_;
    std::unique_ptr<admin::admin_server> metrics_;  ///< [metrics] listen, when set
    std::vector<std::unique_ptr<worker>> workers_;
    std::size_t drained_workers_ = 0;
    bool stopping_ = false;
    std::unique_ptr<net::steady_timer> drain_timer_;
    std::unique_ptr<net::steady_timer> watchdog_timer_;  ///< WATCHDOG=1 pings, when systemd watches (WatchdogSec=)
};

}  // namespace gatehouse::server
