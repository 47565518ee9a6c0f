// Scheduling active checks and publishing health changes.
#include <gatehouse/health/health_checker.hpp>

#include <gatehouse/health/http_probe.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/util/coarse_clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace gatehouse::health {

health_checker::health_checker(net::io_context& control, model::snapshot_ptr snapshot,
                               const health_checker* previous)
    : control_(control), snapshot_(std::move(snapshot)) {
    const auto& cfg = snapshot_->config->health_check;
    for (const auto& n : snapshot_->nodes) {
        tracked_node t{&n, {}, std::make_unique<net::steady_timer>(control_)};
        t.checks.state = health_state(cfg.rise, cfg.fall);
        if (previous) {
            for (const auto& old : previous->nodes_) {
                if (old.node->status != n.status) continue;
                // Same node: keep its counts (re-read against the new rise/fall), history and pause.
                t.checks.history = old.checks.history;
                t.checks.paused = old.checks.paused;
                t.checks.results = old.checks.results;
                t.checks.durations = old.checks.durations;
                t.checks.state = health_state::resume(cfg.rise, cfg.fall, old.checks.state);
            }
        }
        nodes_.push_back(std::move(t));
    }
}

health_checker::~health_checker() { stop(); }

void health_checker::stop() {
    *stopped_ = true;
    for (auto& n : nodes_) n.timer->cancel();
}

void health_checker::set_paused(std::size_t index, bool paused) {
    auto& tracked = nodes_[index];
    if (tracked.checks.paused == paused) return;
    tracked.checks.paused = paused;
    if (paused) return;
    const auto& cfg = snapshot_->config->health_check;
    tracked.checks.state = health_state(cfg.rise, cfg.fall);
    tracked.node->status->health.store(node_health::unknown, std::memory_order_relaxed);
    log::info(tracked.node->name + ": checks resumed; takes traffic after its first passing check");
    if (started_) net::co_spawn(control_, check(index), net::detached);
}

net::awaitable<void> health_checker::check(std::size_t index) {
    const auto stopped = stopped_;
    const auto snapshot = snapshot_;  // keeps the node and the configuration alive while the probe runs
    if (nodes_[index].checks.paused) co_return;
    const auto& node = *nodes_[index].node;
    const auto& cfg = snapshot->config->health_check;
    std::string host = cfg.host.empty() ? node.address : cfg.host;  // named: see GCC PR 100611 in client_session
    const auto started = std::chrono::steady_clock::now();
    const auto outcome = co_await probe_node(node.endpoint, std::move(host), cfg, node.tls, node.tls_names);
    if (*stopped) co_return;
    auto& tracked = nodes_[index];
    if (tracked.checks.paused) co_return;  // disabled while the probe ran

    check_record record;
    record.result = outcome.result;
    record.detail = outcome.detail;
    record.at_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    record.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started).count();
    ++tracked.checks.results[static_cast<std::size_t>(outcome.result)];
    tracked.checks.durations.observe(static_cast<double>(record.duration_ms) / 1000.0);
    tracked.checks.history.push_back(std::move(record));
    if (tracked.checks.history.size() > history_length) tracked.checks.history.pop_front();

    auto& status = *node.status;
    auto& state = tracked.checks.state;
    const auto before = state.health();
    const bool changed = state.observe(outcome.result);
    const auto now = state.health();
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
                                                  : std::to_string(state.consecutive_passes()) +
                                                        " consecutive passes"));
        break;
    case node_health::down:
        log::warning(node.name + " down: " + std::to_string(state.consecutive_failures()) +
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
    if (started_) return;  // e.g. a SIGHUP reload during the first round already started this checker
    started_ = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) net::co_spawn(control_, loop(i), net::detached);
}

net::awaitable<void> health_checker::loop(std::size_t index) {
    const auto stopped = stopped_;
    const auto snapshot = snapshot_;
    const auto& cfg = snapshot->config->health_check;
    if (nodes_[index].checks.history.empty()) {
        co_await check(index);  // a node added by a reload: check it now rather than after an interval
        if (*stopped) co_return;
    }
    for (;;) {
        // A starting node is checked more often, so it takes traffic soon after it is ready.
        const bool starting = nodes_[index].checks.state.health() == node_health::starting;
        auto wait = starting ? std::min(cfg.starting_interval, cfg.interval) : cfg.interval;
        if (!starting && cfg.jitter.count() > 0)
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
