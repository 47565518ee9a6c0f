// One data-plane thread: its io_context, SO_REUSEPORT acceptors, sessions, upstream pools and balancer.
#pragma once

#include <gatehouse/log/event_log.hpp>

#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/log/access_log.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/proxy/session_host.hpp>
#include <gatehouse/server/client_limiter.hpp>
#include <gatehouse/server/memory_release.hpp>
#include <gatehouse/upstream/connection_pool.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace gatehouse::server {

/// A worker owns everything its connections touch, so the request path takes no lock. Other threads talk to it
/// only through the post_* calls, which queue work on its io_context.
class worker final : public proxy::session_host {
public:
    /// Opens one SO_REUSEPORT acceptor per address, plain (`listen`) and TLS (`tls_listen`: connections start with
    /// a handshake with the snapshot's certificates); throws std::system_error naming the address on failure.
    worker(std::size_t id, model::snapshot_ptr snapshot, const std::vector<tcp::endpoint>& listen,
           const std::vector<tcp::endpoint>& tls_listen = {});
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    /// Starts the thread; it runs until stop() or until drained after post_shutdown().
    void start();
    void join();

    /// Any thread: replaces the snapshot; the next request uses it. `applied` (optional) runs on this worker's
    /// thread right after.
    void post_snapshot(model::snapshot_ptr snapshot, std::function<void()> applied = nullptr);
    /// Any thread: `query` runs on this worker's thread (to read its counters without a lock).
    void post_query(std::function<void(const worker&)> query);
    /// Opens a SO_REUSEPORT acceptor on this worker's context: before start() from the thread constructing the
    /// worker, afterwards only on the worker's own thread. Throws std::system_error naming the address.
    std::unique_ptr<tcp::acceptor> open_acceptor(const tcp::endpoint& endpoint);
    /// Any thread, reload step 1: opens acceptors for `endpoints` on this worker's thread and keeps them aside
    /// (not accepting yet); `done` gets "" or the error (then none is kept). Sockets are created on the worker's
    /// thread because its reactor does no per-descriptor locking.
    void post_open_listeners(std::vector<tcp::endpoint> endpoints, std::function<void(std::string)> done);
    /// Any thread, reload step 2: starts accepting on the acceptors kept aside and closes those listening on
    /// `removed`. Connections already accepted are not touched.
    void post_commit_listeners(std::vector<tcp::endpoint> removed);
    /// Any thread: closes the acceptors kept aside (a reload that failed).
    void post_discard_listeners();
    /// Any thread: stops accepting, closes idle connections, lets busy ones finish; calls `drained` (on this
    /// worker's thread) once no connection is left.
    void post_shutdown(std::function<void()> drained);
    /// Any thread: closes every connection and ends the thread.
    void post_force_stop();

    // --- for sessions, on this worker's thread only ---
    net::io_context& context() noexcept override { return context_; }
    const model::snapshot_ptr& snapshot() const noexcept override { return snapshot_; }
    balancer::balancer& balancer() noexcept override { return *balancer_; }
    upstream::connection_pool& pool() noexcept override { return pool_; }
    const upstream::connection_pool& pool() const noexcept { return pool_; }
    bool draining() const noexcept override { return draining_; }
    /// When the "every node that is up is ejected" warning may be logged again (each request could repeat it).
    log::every& panic_log() noexcept override { return panic_log_; }
    std::size_t id() const noexcept { return id_; }
    void link(proxy::session_base& s) noexcept override;
    /// Requests this worker has in flight per node (least_request reads it; /api/status sums it over workers).
    std::span<const std::uint32_t> in_flight() const noexcept override { return in_flight_; }
    /// Counts the request `session` now has in flight to `node` (an index in the current node list).
    void request_started(proxy::session_base& session, std::size_t node) noexcept override {
        session.in_flight_node = node;
        pool_.note_in_use(node, ++in_flight_[node]);
        quiet_.activity();
    }
    /// Ends what request_started counted for `session` (the worker re-mapped it if the node list changed).
    void request_finished(proxy::session_base& session) noexcept override {
        if (tearing_down_) return;  // in_flight_ is gone: sessions are being destroyed with the context
        if (session.in_flight_node != proxy::session_base::no_node && in_flight_[session.in_flight_node] > 0)
            --in_flight_[session.in_flight_node];
        session.in_flight_node = proxy::session_base::no_node;
    }
    /// Changes whenever the node list changes (a reload): node indexes of an older generation mean other nodes.
    std::uint64_t nodes_generation() const noexcept override { return nodes_generation_; }
    /// Client connections this worker holds now.
    std::size_t connections() const noexcept { return connections_; }
    /// Client connections waiting for their next request (the others are busy with one).
    std::size_t idle_connections() const noexcept;
    /// Open WebSocket tunnels per node (index in the current node list).
    std::vector<std::uint32_t> open_tunnels() const;

    /// This worker's request counters (read by the scrape through post_query).
    metrics::worker_counters& counters() noexcept override { return counters_; }
    const metrics::worker_counters& counters() const noexcept { return counters_; }
    /// True when requests are counted (metrics.enabled) and the worker is not being torn down.
    bool counting() const noexcept override { return !tearing_down_ && counting_; }
    /// True when the access log is on and the worker is not being torn down.
    bool access_logging() const noexcept override { return !tearing_down_ && snapshot_->access_log != nullptr; }
    /// Adds one access log line to this worker's buffer (written out every tick or when the buffer fills).
    void log_access(const log::access_record& record) override;
    void unlinked() noexcept override;  ///< a session ended (called from its destructor)
    /// Scratch space for one pick's slow-start factors (one per node); valid until the next pick.
    std::vector<double>& weight_factors() noexcept override { return weight_factors_; }
    /// Writes a fresh 32-hex-digit request id into `out`.
    void next_request_id(char (&out)[32]) noexcept override;

private:
    using session_list =
        boost::intrusive::list<proxy::session_base, boost::intrusive::constant_time_size<false>>;

    net::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls);
    /// Sets up an accepted client socket (no Nagle, non-blocking) and starts its session (TLS: with the current
    /// snapshot's certificates).
    void start_session(tcp::socket&& socket, const net::ip::address& peer, bool tls);
    void close_acceptors() noexcept;
    /// limits.max_connections_per_client: counts the socket's peer address across all workers (its slot is kept in
    /// pending_slot_ until the session links); at the cap, closes the socket at once, counts and logs it: false.
    bool admit_client(tcp::socket& socket, const net::ip::address& peer);
    net::awaitable<void> tick_loop();
    /// limits.max_connections reached: accepting waits until a session ends.
    bool at_connection_cap() const noexcept;
    void wake_paused_accepts() noexcept;
    void apply_snapshot(model::snapshot_ptr snapshot);
    void flush_access_log() noexcept;
    void check_drained();

    // Declared before context_ so they outlive it: destroying the context destroys the sessions still queued in
    // it, and their destructors unlink from this list.
    session_list sessions_;
    bool draining_ = false;
    log::every panic_log_{5000};
    bool tearing_down_ = false;  ///< the worker is being destroyed: sessions destroyed now must not record anything
    std::function<void()> drained_;
    std::size_t connections_ = 0;  // client sessions alive (linked)
    std::vector<net::steady_timer*> paused_accepts_;  // accept loops waiting for a connection to end
    client_limiter::slot pending_slot_;  // the slot of the session being started (moved into it by link)
    log::every per_client_cap_log_{5000};

    std::size_t id_;
    // One thread runs this context and its sockets never leave it, so per-descriptor locking is off; the
    // scheduler stays thread-safe for posts from the control thread.
    net::io_context context_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
    std::vector<std::unique_ptr<tcp::acceptor>> tls_acceptors_;  ///< tls.listen (moved only by a restart)
    std::vector<std::unique_ptr<tcp::acceptor>> retired_acceptors_;
    std::vector<std::unique_ptr<tcp::acceptor>> pending_acceptors_;  ///< opened by a reload, not yet accepting  ///< closed by a reload; their loops may still unwind
    net::steady_timer tick_;
    model::snapshot_ptr snapshot_;
    std::unique_ptr<balancer::balancer> balancer_;
    upstream::connection_pool pool_;
    std::vector<std::uint32_t> in_flight_;
    std::uint64_t nodes_generation_ = 0;
    std::vector<double> weight_factors_;
    metrics::worker_counters counters_;
    bool counting_ = true;
    std::string access_buffer_;
    std::uint64_t id_prefix_;
    std::uint64_t id_counter_ = 0;
    quiet_watch quiet_{10};  // 10 ticks (a second) without a new connection, a close or a request: memory goes back
    std::thread thread_;
};

}  // namespace gatehouse::server
