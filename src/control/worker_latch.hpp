// Waiting on the control thread until every worker has answered a posted task (private to src/control).
#pragma once

#include <gatehouse/net.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>

namespace gatehouse::control::detail {

/// How long a worker may take to apply a snapshot or answer a query before the control thread stops waiting
/// (a worker stuck that long is a bug; the action still applies when it catches up).
inline constexpr auto worker_answer_limit = std::chrono::seconds(2);

/// Waits until `pending` reaches zero (the last one cancels the latch) or the limit passes.
struct latch_state {
    explicit latch_state(net::io_context& ctx, std::size_t n) : pending(n), timer(ctx, worker_answer_limit) {}
    std::size_t pending;
    net::steady_timer timer;
    void arrive() {
        if (pending > 0 && --pending == 0) timer.cancel();
    }
};

}  // namespace gatehouse::control::detail
