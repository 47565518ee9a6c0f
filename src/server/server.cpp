// The control thread: starts the workers, turns SIGTERM/SIGINT into a graceful drain, and stops them.
#include <gatehouse/server/server.hpp>

#include <gatehouse/log/event_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <thread>

namespace gatehouse::server {

std::vector<tcp::endpoint> listen_endpoints(const config::config& cfg) {
    std::vector<tcp::endpoint> out;
    for (const auto& a : cfg.proxy.listen) out.emplace_back(net::ip::make_address(a.ip), a.port);
    return out;
}

server::server(config::config cfg) {
    auto shared = std::make_shared<const config::config>(std::move(cfg));
    snapshot_ = model::build_snapshot(shared, 1);
    std::size_t count = shared->proxy.workers;
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    const auto endpoints = listen_endpoints(*shared);
    for (std::size_t i = 0; i < count; ++i) workers_.push_back(std::make_unique<worker>(i, snapshot_, endpoints));
}

server::~server() {
    for (auto& w : workers_) w->post_force_stop();
    for (auto& w : workers_) w->join();
}

int server::run() {
    net::signal_set signals(control_, SIGTERM, SIGINT);
    std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int number) {
        if (ec) return;
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

    if (snapshot_->config->health_check.enabled) {
        // A node takes traffic only after a passing check: run the first round before accepting anyone.
        health_ = std::make_unique<health::health_checker>(control_, snapshot_);
        bool checked = false;
        net::co_spawn(control_, health_->check_all_once(), [&checked](std::exception_ptr) { checked = true; });
        while (!checked && control_.run_one() > 0) {
        }
        control_.restart();
        health_->start();
    }
    for (auto& w : workers_) w->start();
    std::string addresses;
    for (const auto& a : snapshot_->config->proxy.listen) addresses += (addresses.empty() ? "" : ", ") + a.text;
    log::info("gatehouse listening on " + addresses + " with " + std::to_string(workers_.size()) + " worker(s), " +
              std::to_string(snapshot_->nodes.size()) + " node(s)");

    control_.run();
    for (auto& w : workers_) w->join();
    log::info("gatehouse stopped");
    return 0;
}

void server::begin_shutdown(int signal_number) {
    stopping_ = true;
    if (health_) health_->stop();
    const auto drain = snapshot_->config->timeouts.shutdown_drain;
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

void server::finish() {
    if (drain_timer_) drain_timer_->cancel();
    control_.stop();
}

}  // namespace gatehouse::server
