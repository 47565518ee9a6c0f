// Scheduling active checks and publishing health changes.
#include <gatehouse/health/health_checker.hpp>

#include <gatehouse/health/http_probe.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/util/coarse_clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace gatehouse::health {

health_checker::health_checker(net::io_context& control, model::snapshot_ptr snapshot)
    : control_(control), snapshot_(std::move(snapshot)) {
    const auto& cfg = snapshot_->config->health_check;
    for (const auto& n : snapshot_->nodes)
        nodes_.push_back({&n, health_state(cfg.rise, cfg.fall), std::make_unique<net::steady_timer>(control_)});
}

health_checker::~health_checker() { stop(); }

void health_checker::stop() {
    *stopped_ = true;
    for (auto& n : nodes_) n.timer->cancel();
}

net::awaitable<void> health_checker::check(std::size_t index) {
    const auto stopped = stopped_;
    auto& tracked = nodes_[index];
    const auto& node = *tracked.node;
    const auto& cfg = snapshot_->config->health_check;
    std::string host = cfg.host.empty() ? node.address : cfg.host;  // named: see GCC PR 100611 in client_session
    const auto outcome = co_await probe_node(node.endpoint, std::move(host), cfg);
    if (*stopped) co_return;

    auto& status = *node.status;
    const auto before = tracked.state.health();
    const bool changed = tracked.state.observe(outcome.result);
    const auto now = tracked.state.health();
    const auto now_ms = util::coarse_now_ms();
    if (outcome.result == check_result::pass &&
        status.ejected_until_ms.load(std::memory_order_relaxed) <= now_ms)
        status.ejections.store(0, std::memory_order_relaxed);  // ejection over and the node answers: backoff resets
    if (!changed) co_return;

    if (now == node_health::up && before != node_health::unknown)
        status.up_since_ms.store(now_ms, std::memory_order_relaxed);  // came back: slow start ramps from here
    status.health.store(now, std::memory_order_relaxed);
    switch (now) {
    case node_health::up:
        log::info(node.name + " up: " +
                  (before == node_health::unknown ? std::string("first check passed")
                                                  : std::to_string(tracked.state.consecutive_passes()) +
                                                        " consecutive passes"));
        break;
    case node_health::down:
        log::warning(node.name + " down: " + std::to_string(tracked.state.consecutive_failures()) +
                     " consecutive failures (last: " + outcome.detail + ")");
        break;
    case node_health::starting:
        log::info(node.name + " starting: " + outcome.detail);
        break;
    case node_health::unknown:
        break;
    }
}

net::awaitable<void> health_checker::check_all_once() {
    // Run every node's first check at once; a latch timer wakes this coroutine when the last one finishes.
    auto pending = std::make_shared<std::size_t>(nodes_.size());
    net::steady_timer latch(control_, std::chrono::steady_clock::time_point::max());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        net::co_spawn(control_, check(i), [pending, &latch](std::exception_ptr) {
            if (--*pending == 0) latch.cancel();
        });
    }
    if (*pending != 0) co_await latch.async_wait(use_tuple);
}

void health_checker::start() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) net::co_spawn(control_, loop(i), net::detached);
}

net::awaitable<void> health_checker::loop(std::size_t index) {
    const auto stopped = stopped_;
    const auto& cfg = snapshot_->config->health_check;
    for (;;) {
        auto wait = cfg.interval;
        if (cfg.jitter.count() > 0)
            wait += std::chrono::milliseconds(std::uniform_int_distribution<long>(0, cfg.jitter.count())(random_));
        auto& timer = *nodes_[index].timer;
        timer.expires_after(wait);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec || *stopped) co_return;
        co_await check(index);
        if (*stopped) co_return;
    }
}

}  // namespace gatehouse::health
