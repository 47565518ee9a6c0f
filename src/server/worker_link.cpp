// The controller's handle on one worker: each call queues work on the worker's thread.
#include "worker_link.hpp"

namespace gatehouse::server {
namespace {

/// Copies what /api/status and /metrics need from `w`, on w's thread.
control::worker_counts count(const worker& w, bool with_counters) {
    control::worker_counts c;
    c.in_flight.assign(w.in_flight().begin(), w.in_flight().end());
    c.websockets = w.open_tunnels();
    c.connections = w.connections();
    c.nodes_generation = w.nodes_generation();
    if (with_counters) {
        c.idle_connections = w.idle_connections();
        for (std::size_t n = 0; n < c.in_flight.size(); ++n) c.pooled.push_back(w.pool().idle(n));
        c.counters = w.counters();
        c.counters.idle_closed = w.pool().closed();
    }
    return c;
}

class worker_link final : public control::worker_handle {
public:
    explicit worker_link(worker& w) : w_(w) {}

    void post_snapshot(model::snapshot_ptr snapshot, std::function<void()> applied) override {
        w_.post_snapshot(std::move(snapshot), std::move(applied));
    }
    void post_counts(bool with_counters, std::function<void(control::worker_counts)> done) override {
        w_.post_query([with_counters, done = std::move(done)](const worker& w) { done(count(w, with_counters)); });
    }
    void post_open_listeners(std::vector<tcp::endpoint> endpoints, std::function<void(std::string)> done) override {
        w_.post_open_listeners(std::move(endpoints), std::move(done));
    }
    void post_commit_listeners(std::vector<tcp::endpoint> removed) override {
        w_.post_commit_listeners(std::move(removed));
    }
    void post_discard_listeners() override { w_.post_discard_listeners(); }

private:
    worker& w_;
};

}  // namespace

std::unique_ptr<control::worker_handle> make_worker_handle(worker& w) { return std::make_unique<worker_link>(w); }

}  // namespace gatehouse::server
