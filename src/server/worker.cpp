// A data-plane worker thread.
#include <gatehouse/server/worker.hpp>

#include <gatehouse/log/escaped.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/endpoints.hpp>
#include <gatehouse/proxy/client_session.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/util/coarse_clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <algorithm>
#include <csignal>
#include <random>
#include <system_error>

#include <pthread.h>

namespace gatehouse::server {
namespace {

/// A session's place in limits.max_connections_per_client, held by the session until it ends.
struct client_slot_ticket final : proxy::session_ticket {
    explicit client_slot_ticket(client_limiter::slot&& s) noexcept : slot(std::move(s)) {}
    client_limiter::slot slot;
};

using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
constexpr auto tick_period = std::chrono::milliseconds(100);
constexpr auto accept_backoff = std::chrono::milliseconds(200);
constexpr int max_accepts_per_wakeup = 64;
constexpr std::int64_t log_interval_ms = 5000;  // accept problems (EMFILE, the connection cap) are logged this often

/// Registers an accept loop's timer as waiting for a session to end, for as long as it lives (also when the
/// coroutine frame is destroyed with the io_context).
class paused_accept {
public:
    paused_accept(std::vector<net::steady_timer*>& list, net::steady_timer& timer) : list_(list), timer_(&timer) {
        list_.push_back(timer_);
    }
    ~paused_accept() { std::erase(list_, timer_); }
    paused_accept(const paused_accept&) = delete;
    paused_accept& operator=(const paused_accept&) = delete;

private:
    std::vector<net::steady_timer*>& list_;
    net::steady_timer* timer_;
};

}  // namespace

worker::worker(std::size_t id, model::snapshot_ptr snapshot, const std::vector<tcp::endpoint>& listen,
               const std::vector<tcp::endpoint>& tls_listen)
    : id_(id), work_(context_.get_executor()), tick_(context_), pool_(upstream::pool_limits_of(*snapshot->config)) {
    for (const auto& ep : listen) acceptors_.push_back(open_acceptor(ep));
    for (const auto& ep : tls_listen) tls_acceptors_.push_back(open_acceptor(ep));
    std::random_device rd;
    id_prefix_ = (std::uint64_t(rd()) << 32) ^ rd() ^ (std::uint64_t(id) << 56);
    apply_snapshot(std::move(snapshot));
}

std::unique_ptr<tcp::acceptor> worker::open_acceptor(const tcp::endpoint& ep) {
    auto acceptor = std::make_unique<tcp::acceptor>(context_);
    error_code ec;
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->set_option(reuse_port(true), ec);
    if (!ec && ep.address().is_v6()) acceptor->set_option(net::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (!ec) acceptor->non_blocking(true, ec);  // lets accept_loop drain the queue without blocking
    if (ec) throw std::system_error(ec, "cannot listen on " + describe(ep));
    return acceptor;
}

worker::~worker() {
    if (thread_.joinable()) {
        post_force_stop();
        thread_.join();
    }
    drained_ = nullptr;  // sessions destroyed with the context must not report a drain any more
    draining_ = false;
    tearing_down_ = true;
}

void worker::start() {
    for (auto& a : acceptors_)
        net::co_spawn(context_, accept_loop(*a, false), log::on_escape("accept loop"));
    for (auto& a : tls_acceptors_)
        net::co_spawn(context_, accept_loop(*a, true), log::on_escape("TLS accept loop"));
    net::co_spawn(context_, tick_loop(), log::on_escape("tick"));
    // The control thread handles SIGTERM, SIGINT, SIGHUP and SIGUSR1 (server.cpp). A worker thread blocks them from
    // its first instruction (it inherits the mask set here), so the kernel always delivers them to the control
    // thread: a signal taken by a busy worker could otherwise wait there (seen under TSan: a SIGTERM never acted on).
    sigset_t control_signals, previous;
    sigemptyset(&control_signals);
    for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&control_signals, s);
    pthread_sigmask(SIG_BLOCK, &control_signals, &previous);
    thread_ = std::thread([this] {
        context_.run();
        // Sessions still queued are destroyed with the context; idle pooled sockets close here.
        pool_.clear();
        flush_access_log();
    });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void worker::join() {
    if (thread_.joinable()) thread_.join();
}

void worker::post_snapshot(model::snapshot_ptr snapshot, std::function<void()> applied) {
    net::post(context_, [this, s = std::move(snapshot), applied = std::move(applied)]() mutable {
        apply_snapshot(std::move(s));
        if (applied) applied();
    });
}

void worker::post_query(std::function<void(const worker&)> query) {
    net::post(context_, [this, query = std::move(query)] { query(*this); });
}

void worker::post_open_listeners(std::vector<tcp::endpoint> endpoints, std::function<void(std::string)> done) {
    net::post(context_, [this, endpoints = std::move(endpoints), done = std::move(done)] {
        pending_acceptors_.clear();
        try {
            for (const auto& e : endpoints) pending_acceptors_.push_back(open_acceptor(e));
        } catch (const std::system_error& e) {
            pending_acceptors_.clear();
            done(e.what());
            return;
        }
        done("");
    });
}

void worker::post_discard_listeners() {
    net::post(context_, [this] { pending_acceptors_.clear(); });
}

void worker::post_commit_listeners(std::vector<tcp::endpoint> removed) {
    net::post(context_, [this, removed = std::move(removed)] {
        for (auto it = acceptors_.begin(); it != acceptors_.end();) {
            error_code ec;
            const auto ep = (*it)->local_endpoint(ec);
            if (!ec && std::find(removed.begin(), removed.end(), ep) != removed.end()) {
                (*it)->close(ec);  // its accept loop ends with operation_aborted; the object is freed with the worker
                retired_acceptors_.push_back(std::move(*it));
                it = acceptors_.erase(it);
            } else {
                ++it;
            }
        }
        auto added = std::move(pending_acceptors_);
        pending_acceptors_.clear();
        if (draining_) return;
        for (auto& a : added) {
            net::co_spawn(context_, accept_loop(*a, false), log::on_escape("accept loop"));
            acceptors_.push_back(std::move(a));
        }
    });
}

void worker::apply_snapshot(model::snapshot_ptr snapshot) {
    const bool nodes_changed = !snapshot_ || snapshot_->nodes.size() != snapshot->nodes.size() ||
        !std::equal(snapshot_->nodes.begin(), snapshot_->nodes.end(), snapshot->nodes.begin(),
                    [](const model::node& a, const model::node& b) {
                        return model::same_peer(a, b) && a.weight == b.weight;
                    });
    const bool balance_changed =
        snapshot_ && snapshot_->config->upstream.balance != snapshot->config->upstream.balance;
    if (nodes_changed || balance_changed) {
        std::vector<balancer::node_entry> entries;
        for (const auto& n : snapshot->nodes) entries.push_back({n.name, n.weight});
        balancer_ = balancer::make_balancer(snapshot->config->upstream.balance, entries);
    }
    if (nodes_changed) {
        // Node indexes change meaning: carry idle connections and in-flight counts over to the nodes that stayed
        // (same name, address and TLS settings).
        std::vector<std::size_t> new_index_of_old(snapshot_ ? snapshot_->nodes.size() : 0, proxy::session_base::no_node);
        for (std::size_t o = 0; o < new_index_of_old.size(); ++o)
            for (const auto& n : snapshot->nodes)
                if (model::same_peer(n, snapshot_->nodes[o]))
                    new_index_of_old[o] = n.index;
        pool_.remap(new_index_of_old, snapshot->nodes.size());
        in_flight_.assign(snapshot->nodes.size(), 0);
        for (auto& s : sessions_) {
            if (s.in_flight_node == proxy::session_base::no_node) continue;
            s.in_flight_node =
                s.in_flight_node < new_index_of_old.size() ? new_index_of_old[s.in_flight_node] : proxy::session_base::no_node;
            if (s.in_flight_node != proxy::session_base::no_node) ++in_flight_[s.in_flight_node];
        }
        weight_factors_.assign(snapshot->nodes.size(), 1.0);
        counters_.remap(new_index_of_old, snapshot->nodes.size());
        ++nodes_generation_;
    }
    pool_.set_limits(upstream::pool_limits_of(*snapshot->config));
    counting_ = snapshot->config->metrics.enabled;
    if (snapshot_ && snapshot_->access_log != snapshot->access_log) flush_access_log();  // lines go where they were meant
    // Requests copy snapshot_ to keep it alive. Re-rooting it in a control block of this worker's own keeps those
    // reference-count writes on this core instead of bouncing one shared cache line between workers.
    const auto* raw = snapshot.get();
    snapshot_ = model::snapshot_ptr(raw, [global = std::move(snapshot)](const model::snapshot*) mutable { global.reset(); });
}

void worker::post_shutdown(std::function<void()> drained) {
    net::post(context_, [this, drained = std::move(drained)]() mutable {
        draining_ = true;
        drained_ = std::move(drained);
        close_acceptors();
        pool_.clear();
        wake_paused_accepts();
        // on_shutdown may end sessions later (through their coroutines), never synchronously.
        for (auto& s : sessions_) s.on_shutdown();
        check_drained();
    });
}

void worker::close_acceptors() noexcept {
    for (auto* list : {&acceptors_, &tls_acceptors_}) {
        for (auto& a : *list) {
            error_code ignored;
            a->close(ignored);
        }
    }
}

void worker::post_force_stop() {
    net::post(context_, [this] {
        for (auto& s : sessions_) s.on_force_close();
        close_acceptors();
        pool_.clear();
        wake_paused_accepts();
        tick_.cancel();
        work_.reset();
        context_.stop();
    });
}

std::size_t worker::idle_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& s : sessions_)
        if (s.idle()) ++n;
    return n;
}

std::vector<std::uint32_t> worker::open_tunnels() const {
    std::vector<std::uint32_t> n(in_flight_.size(), 0);
    for (const auto& s : sessions_)
        if (s.tunnelling && s.in_flight_node < n.size()) ++n[s.in_flight_node];
    return n;
}

void worker::log_access(const log::access_record& record) {
    const auto& sink = snapshot_->access_log;
    if (!sink) return;
    if (sink->format() == config::access_log_format::json) log::format_json(access_buffer_, record);
    else log::format_combined(access_buffer_, record);
    if (access_buffer_.size() >= 64 * 1024) flush_access_log();
}

void worker::flush_access_log() noexcept {
    if (access_buffer_.empty()) return;
    if (snapshot_ && snapshot_->access_log) snapshot_->access_log->write(access_buffer_);
    access_buffer_.clear();
}

void worker::link(proxy::session_base& s) noexcept {
    sessions_.push_back(s);
    ++connections_;
    quiet_.activity();
    // The place in limits.max_connections_per_client that admit_client took for the socket start_session passed on.
    if (pending_slot_.counted()) s.ticket = std::make_unique<client_slot_ticket>(std::move(pending_slot_));
}

void worker::unlinked() noexcept {
    if (tearing_down_) return;  // paused accept loops are being destroyed with the context
    --connections_;
    quiet_.activity();
    if (!paused_accepts_.empty() && !at_connection_cap()) wake_paused_accepts();
    if (draining_ && drained_) check_drained();
}

bool worker::at_connection_cap() const noexcept {
    if (!snapshot_) return false;  // the worker is being destroyed
    const auto cap = snapshot_->config->limits.max_connections;
    return cap != 0 && connections_ >= cap;
}

void worker::wake_paused_accepts() noexcept {
    for (auto* t : paused_accepts_) t->cancel();
}

void worker::check_drained() {
    if (!draining_ || !sessions_.empty() || !drained_) return;
    auto done = std::move(drained_);
    drained_ = nullptr;
    tick_.cancel();
    work_.reset();
    done();
}

void worker::next_request_id(char (&out)[32]) noexcept {
    static constexpr char hex[] = "0123456789abcdef";
    const std::uint64_t parts[2] = {id_prefix_, ++id_counter_};
    for (int p = 0; p < 2; ++p)
        for (int i = 0; i < 16; ++i) out[p * 16 + i] = hex[(parts[p] >> (60 - 4 * i)) & 0xf];
}

namespace {
/// The client address as 16 bytes (IPv4 as v4-mapped IPv6, so both forms of one client count together).
std::string address_key(const net::ip::address& a) {
    const auto v6 = a.is_v4() ? net::ip::make_address_v6(net::ip::v4_mapped, a.to_v4()) : a.to_v6();
    const auto bytes = v6.to_bytes();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
}  // namespace

bool worker::admit_client(tcp::socket& socket, const net::ip::address& peer) {
    const auto cap = snapshot_->config->limits.max_connections_per_client;
    if (cap == 0) return true;
    auto slot = client_limiter::shared().acquire(address_key(peer), cap);
    if (slot) {
        pending_slot_ = std::move(*slot);
        return true;
    }
    if (counting()) ++counters_.refused_per_client;
    if (per_client_cap_log_.due(util::coarse_now_ms()))
        log::warning("client " + unmap_v4(peer).to_string() + " has " + std::to_string(cap) +
                     " connections open, limits.max_connections_per_client reached: new ones are closed at once");
    error_code ignored;
    socket.close(ignored);
    return false;
}

void worker::start_session(tcp::socket&& socket, const net::ip::address& peer, bool tls) {
    if (!admit_client(socket, peer)) return;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);  // lets the session write without a pass through the event loop
    proxy::watch_peer_close(socket, ignored);  // lets the session skip reads that would fail (proxy/read_drain)
    if (!tls) proxy::start_client_session(*this, std::move(socket), peer);
    else if (snapshot_->tls) proxy::start_tls_session(*this, std::move(socket), peer, snapshot_->tls);
    else socket.close(ignored);  // no certificates (cannot happen: tls.listen needs them)
}

net::awaitable<void> worker::accept_loop(tcp::acceptor& acceptor, bool tls) {
    net::steady_timer backoff(context_);
    log::every accept_failure_log(log_interval_ms), connection_cap_log(log_interval_ms);
    for (;;) {
        // At limits.max_connections, accept nothing (as Nginx at worker_connections): new connections wait in the
        // kernel's listen backlog and are accepted as soon as a session ends (or at the latest after a second).
        while (at_connection_cap() && acceptor.is_open()) {
            if (connection_cap_log.due(util::coarse_now_ms())) {
                log::warning("worker " + std::to_string(id_) + ": " + std::to_string(connections_) +
                             " client connections, limits.max_connections reached: new connections wait in the "
                             "listen backlog");
            }
            backoff.expires_after(std::chrono::seconds(1));
            paused_accept pause(paused_accepts_, backoff);
            co_await backoff.async_wait(use_tuple);
        }
        // The peer's address comes with the accept: no getpeername per connection.
        tcp::endpoint peer;
        auto [ec, socket] = co_await acceptor.async_accept(peer, use_tuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // EMFILE/ENFILE/ENOBUFS: keep serving the connections we have; retrying at once would spin.
            if (accept_failure_log.due(util::coarse_now_ms())) {
                log::error("accept failed on worker " + std::to_string(id_) + ": " + ec.message() +
                           " (backing off)");
            }
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        start_session(std::move(socket), peer.address(), tls);
        // Drain what else is queued now, up to a bound (HAProxy's tune.maxaccept): one accept per event-loop
        // pass lets the backlog grow under a burst of new connections while the loop is busy.
        for (int i = 0; i < max_accepts_per_wakeup && !at_connection_cap(); ++i) {
            tcp::socket more(context_);
            error_code aec;
            acceptor.accept(more, peer, aec);
            if (aec) break;  // would_block: the queue is empty (EMFILE and the like: the async path handles them)
            start_session(std::move(more), peer.address(), tls);
        }
    }
}

net::awaitable<void> worker::tick_loop() {
    for (;;) {
        tick_.expires_after(tick_period);
        auto [ec] = co_await tick_.async_wait(use_tuple);
        if (ec || (draining_ && !drained_ && sessions_.empty())) co_return;
        const auto now = util::coarse_now_ms();
        flush_access_log();
        pool_.expire(now);
        for (auto& s : sessions_) {
            if (s.deadline_ms() <= now) s.on_deadline(now);
            s.on_tick();
        }
        if (quiet_.tick()) release_free_memory();  // what a burst freed goes back: RSS follows what is held
    }
}

}  // namespace gatehouse::server
