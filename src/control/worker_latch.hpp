// Asking every worker something and waiting on the control thread for their answers (private to src/control).
#pragma once

#include <gatehouse/control/worker_handle.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

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

/// Calls `ask(worker, reply)` for every worker; each worker calls `reply(answer)` on its own thread. Waits on the
/// control thread until every worker replied or worker_answer_limit passed; a worker that did not reply in time
/// keeps `unanswered` in the result (its late reply is dropped).
template <class Answer, class Ask>
net::awaitable<std::vector<Answer>> ask_every_worker(net::io_context& control, const worker_handles& workers, Ask ask,
                                                     Answer unanswered = {}) {
    auto latch = std::make_shared<latch_state>(control, workers.size());
    auto answers = std::make_shared<std::vector<Answer>>(workers.size(), unanswered);
    for (std::size_t i = 0; i < workers.size(); ++i) {
        std::function<void(Answer)> reply = [ctx = &control, latch, answers, i](Answer answer) {
            net::post(*ctx, [latch, answers, i, answer = std::move(answer)]() mutable {
                (*answers)[i] = std::move(answer);
                latch->arrive();
            });
        };
        ask(*workers[i], std::move(reply));
    }
    if (latch->pending > 0) co_await latch->timer.async_wait(use_tuple);
    co_return *answers;
}

}  // namespace gatehouse::control::detail
