// The control thread: starts the workers, the controller and the admin API; turns SIGHUP into a reload and
// SIGTERM/SIGINT into a graceful drain.
#include <gatehouse/server/server.hpp>

#include "worker_link.hpp"

#include <gatehouse/admin/admin_server.hpp>
#include <gatehouse/control/controller.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/endpoints.hpp>
#include <gatehouse/server/systemd_notify.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <thread>

namespace gatehouse::server {

server::server(config::config cfg, server_options options) {
    controller_ = std::make_unique<control::controller>(
        control_, std::move(cfg), control::controller::options{options.config_path, options.start_in_maintenance,
                                                                options.admin_allow_no_token, options.loopback_only});
    const auto& snapshot = controller_->snapshot();
    const auto& c = *snapshot->config;
    std::size_t count = c.proxy.workers;
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    const auto endpoints = listen_endpoints(c);
    const auto tls_endpoints = tls_listen_endpoints(c);
    for (const auto& e : endpoints) ensure_address_free(e);
    for (const auto& e : tls_endpoints) ensure_address_free(e);
    for (std::size_t i = 0; i < count; ++i)
        workers_.push_back(std::make_unique<worker>(i, snapshot, endpoints, tls_endpoints));
    control::worker_handles handles;
    for (auto& w : workers_) handles.push_back(make_worker_handle(*w));
    controller_->attach(std::move(handles));
    if (c.admin.enabled) admin_ = std::make_unique<admin::admin_server>(control_, *controller_);
    if (c.metrics.enabled && c.metrics.own_listener)
        metrics_ = std::make_unique<admin::admin_server>(control_, *controller_, true);
}

server::~server() {
    if (admin_) admin_->stop();
    if (metrics_) metrics_->stop();
    for (auto& w : workers_) w->post_force_stop();
    for (auto& w : workers_) w->join();
}

int server::run() {
    net::signal_set signals(control_, SIGTERM, SIGINT, SIGHUP);
    signals.add(SIGUSR1);
    std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int number) {
        if (ec) return;
        if (number == SIGUSR1) {
            controller_->reopen_access_log();
            signals.async_wait(on_signal);
            return;
        }
        if (number == SIGHUP) {
            if (!stopping_) {
                net::co_spawn(control_, [this]() -> net::awaitable<void> {
                    std::string actor = "SIGHUP";  // named: GCC PR 100611
                    systemd::reloading();
                    const auto result = co_await controller_->reload(std::move(actor));
                    systemd::ready(result.ok ? "reloaded" : "reload failed: running the previous configuration");
                }, net::detached);
            }
            signals.async_wait(on_signal);
            return;
        }
        if (stopping_) {
            log::warning("second signal: closing every connection now");
            for (auto& w : workers_) w->post_force_stop();
            finish();
            return;
        }
        begin_shutdown(number);
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    controller_->start_cluster();
    controller_->start_discovery();
    controller_->start_health_checks();
    for (auto& w : workers_) w->start();
    start_listeners_and_notify();

    control_.run();
    for (auto& w : workers_) w->join();
    log::info("gatehouse stopped");
    return 0;
}

// Starts the admin and metrics listeners, logs what listens where, and tells systemd (READY=1) that every listener
// accepts and the first health round is over (start_health_checks returned before the workers started).
void server::start_listeners_and_notify() {
    const auto& c = controller_->config();
    std::string addresses;
    for (const auto& a : c.proxy.listen) addresses += (addresses.empty() ? "" : ", ") + a.text;
    for (const auto& a : c.tls.listen) addresses += ", " + a.text + " (TLS)";
    if (admin_) {
        admin_->start();
        log::info("admin API on " + c.admin.listen.text +
                  (c.admin.token.empty() ? " without a token: loopback clients only"
                                         : " (bearer token from " + c.admin.token_origin + ")"));
    }
    if (metrics_) {
        metrics_->start();
        log::info("metrics on http://" + c.metrics.listen.text + "/metrics");
    }
    if (controller_->state().maintenance.enabled) log::info("maintenance mode is on");
    log::info("gatehouse listening on " + addresses + " with " + std::to_string(workers_.size()) + " worker(s), " +
              std::to_string(controller_->snapshot()->nodes.size()) + " node(s)");
    systemd::ready("listening on " + addresses);
    start_watchdog();
}

void server::begin_shutdown(int signal_number) {
    stopping_ = true;
    systemd::stopping();
    controller_->stop_health_checks();
    if (admin_) admin_->stop();
    if (metrics_) metrics_->stop();
    const auto drain = controller_->config().timeouts.shutdown_drain;
    log::info(std::string("received ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") +
              ": no new connections, draining in-flight requests for up to " + std::to_string(drain.count()) + " ms");
    drain_timer_ = std::make_unique<net::steady_timer>(control_, drain);
    drain_timer_->async_wait([this](const error_code& ec) {
        if (ec) return;
        log::warning("drain time over: closing the remaining connections");
        for (auto& w : workers_) w->post_force_stop();
        finish();
    });
    for (auto& w : workers_) {
        w->post_shutdown([this] {
            net::post(control_, [this] {
                if (++drained_workers_ == workers_.size()) finish();
            });
        });
    }
}

// WATCHDOG=1 from the control loop every half WatchdogSec=: a control thread stuck for that long gets restarted.
void server::start_watchdog() {
    const auto period = systemd::watchdog_period();
    if (!period) return;
    watchdog_timer_ = std::make_unique<net::steady_timer>(control_);
    net::co_spawn(control_, [timer = watchdog_timer_.get(), period = *period]() -> net::awaitable<void> {
        for (;;) {
            systemd::watchdog();
            timer->expires_after(period);
            auto [ec] = co_await timer->async_wait(use_tuple);
            if (ec) co_return;
        }
    }, net::detached);
}

void server::finish() {
    if (watchdog_timer_) watchdog_timer_->cancel();
    if (drain_timer_) drain_timer_->cancel();
    control_.stop();
}

}  // namespace gatehouse::server
