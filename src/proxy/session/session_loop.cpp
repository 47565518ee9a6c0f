// client_session: the connection's life (construction, the worker's calls, the keep-alive loop) and the order of
// one request's steps (serve_request).
#include "client_session.hpp"

#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/endpoints.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/head_reader.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/request_body_buffer.hpp>

namespace gatehouse::proxy::detail {

template <class Stream>
client_session<Stream>::client_session(session_host& host, Stream&& stream, const net::ip::address& peer)
    : host_(host), stream_(std::move(stream)), upstream_(host.context()) {
    peer_ip_ = unmap_v4(peer).to_string();
    if (const auto ip = config::parse_ip(peer_ip_)) peer_key_ = balancer::client_key(*ip);
    host_.link(*this);
}

template <class Stream>
client_session<Stream>::~client_session() {
    unlink();
    host_.unlinked();
}

template <class Stream>
void client_session<Stream>::on_deadline(std::int64_t now_ms) {
    if (!timed_out_) {
        timed_out_ = true;
        cancel_sockets();
        deadline_ms_ = now_ms + timeout_grace_ms;
    } else {
        close_sockets();
        deadline_ms_ = std::numeric_limits<std::int64_t>::max();
    }
}

template <class Stream>
void client_session<Stream>::on_shutdown() {
    if (phase_ == phase::idle || phase_ == phase::handshake) cancel_sockets();
    else if (phase_ == phase::tunnel && tunnel_) stop_tunnel_before_drain_ends();  // a tunnel never ends by itself
}

template <class Stream>
void client_session<Stream>::on_force_close() {
    close_sockets();
}

template <class Stream>
void client_session<Stream>::on_tick() {
    if (phase_ == phase::tunnel) watch_node_drain();
    if (phase_ != phase::idle) return;
    if (!idle_seen_by_tick_) {
        idle_seen_by_tick_ = true;  // idle for less than a tick so far: the next request may come at once
        return;
    }
    // Idle for a whole tick while waiting in a read into in_: stop that read so run() can park (no buffers, no
    // coroutine).
    if (parked_in_read_ && !park_cancelled_) {
        park_cancelled_ = true;
        error_code ignored;
        beast::get_lowest_layer(stream_).cancel(ignored);
    }
}

template <class Stream>
net::awaitable<void> client_session<Stream>::run() {
    if (!std::exchange(resumed_, false)) {  // the connection's start (not a wake from park)
        if constexpr (is_tls) {
            if (!co_await handshake()) {
                close_sockets();
                co_return;
            }
        }
        in_.max_size(buffer_limit);
        up_in_.max_size(buffer_limit);
    }
    for (;;) {
        if (in_.size() == 0) {
            // A connection between requests waits in a read straight into in_ (no extra readiness wait: one system
            // call less per request). Once it has idled a whole tick, on_tick stops that read and it parks: no
            // buffers, no coroutine (park). A busy connection keeps its buffers and its coroutine.
            idle_seen_by_tick_ = false;
            if (std::exchange(wake_failed_, false) || host_.draining()) break;
            const auto& t = host_.snapshot()->config->timeouts;
            set_deadline(phase::idle, first_request_ ? t.client_header : t.client_idle);
            parked_in_read_ = true;
            auto [ec, n] = co_await read_some_unless_drained(stream_, in_.prepare(head_read_piece));
            parked_in_read_ = false;
            const bool released_by_tick = std::exchange(park_cancelled_, false);
            if (ec == net::error::operation_aborted && released_by_tick && !timed_out_ && !host_.draining()) {
                if (park()) co_return;  // the socket's wait holds the session now, and starts run() again
                continue;
            }
            if (ec) break;
            in_.commit(n);
        }
        first_request_ = false;
        const bool next = co_await serve_request();
        if (tunnel_) co_await tunnel();  // a WebSocket tunnel runs here, after the exchange's frame is gone
        if (!next) break;
    }
    if constexpr (is_tls) co_await send_close_notify();
    close_sockets();
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::serve_request() {
    const model::snapshot_ptr snapshot = host_.snapshot();  // this request keeps the snapshot it started with
    const config::config& cfg = *snapshot->config;
    request_started_ = std::chrono::steady_clock::now();
    set_deadline(phase::request_head, cfg.timeouts.client_header);
    const auto head_length = co_await read_request_head(cfg);
    if (!head_length) co_return false;

    exchange x;
    x.started = request_started_;
    // Counts and logs the request, and releases a held body from in_, however the exchange ends.
    const exchange_end end{*this, x};
    const request_refusal refused = request_filter(x, cfg, *head_length);
    if (refused.status != http::status::unknown) {
        const std::string why = refused.parse_error ? refused.parse_error.message() : std::string(refused.reason);
        co_await respond_error(refused.status, why, refused.with_request ? &x : nullptr);
        co_return false;
    }
    upstream_request_filter(x, cfg, *head_length);
    // The body's steps are called from here, not from a coroutine of their own: GCC 12 passed shifted arguments
    // (this = &x, &x = &cfg) to such a member coroutine `read_request_body(exchange&, const config&)`.
    const body_plan plan = plan_request_body(x, cfg);
    if (plan == body_plan::hold) {
        if (!co_await read_small_body_whole(x, cfg)) co_return false;
    } else if (plan == body_plan::buffer) {
        if (!co_await buffer_request_body(x, cfg)) co_return false;
        body_buffered(x);
    }
    body_read(x);
    if constexpr (!is_tls) {
        if (cfg.proxy.redirect_https) co_return co_await redirect_to_https(x, cfg);
    }

    node_choice choice;
    const admission admitted = admit(x, choice);
    if (admitted == admission::maintenance) co_return co_await answer_maintenance(x, *x.nodes);
    if (admitted == admission::unavailable) co_return co_await answer_unavailable(x, choice.availability);
    choice.tries_left = cfg.upstream.tries;
    for (;;) {
        const auto picked = upstream_peer(x, choice);
        if (!picked) co_return co_await answer_bad_gateway(x);
        const bool reused = start_try(x, choice, *picked);
        const attempt outcome = co_await try_node(x, cfg, reused);
        if (outcome == attempt::answered) {
            if (x.switched()) co_return co_await open_tunnel(x, cfg);  // then run() runs the WebSocket tunnel
            co_return co_await relay_response(x, cfg);
        }
        if (outcome == attempt::failed) co_return false;
        if (!next_try(x, choice, outcome)) co_return co_await answer_bad_gateway(x);
    }
}

template <class Stream>
net::awaitable<std::optional<std::size_t>> client_session<Stream>::read_request_head(const config::config& cfg) {
    request_head_reader reader(cfg.limits.max_request_head);
    for (;;) {
        const auto progress = reader.next(std::string_view(static_cast<const char*>(in_.data().data()), in_.size()));
        in_.consume(progress.skip);
        if (progress.status == head_scan_status::complete) co_return progress.head_length;
        if (progress.status != head_scan_status::need_more) {
            const auto rejected = rejection_of(progress.status);
            co_await respond_error(rejected.status, rejected.reason, nullptr);
            co_return std::nullopt;
        }
        auto [ec, n] = co_await read_some_unless_drained(stream_, in_.prepare(head_read_piece));
        if (ec) {
            if (timed_out_) co_await respond_error(http::status::request_timeout, "request head not received in time", nullptr);
            else if (in_.size() > 0) log::debug(describe(nullptr) + " left in the middle of a request head");
            co_return std::nullopt;
        }
        in_.commit(n);
    }
}

template <class Stream>
body_plan client_session<Stream>::plan_request_body(exchange& x, const config::config& cfg) noexcept {
    if (x.verdict.framing == body_framing::none) {
        x.held = true;  // nothing to read
        return body_plan::none;
    }
    start_body_clock(cfg);  // timeouts.client_body: the whole body, however it is read
    // A small body is read whole before any node is chosen, so the request can be sent again if a reused
    // connection turns out to be closed.
    x.held = x.verdict.framing == body_framing::content_length && x.verdict.content_length <= hold_limit;
    if (x.held) return body_plan::hold;
    // Any other body is read whole too (memory, then a temporary file) before a node is chosen: a slow client
    // never holds a node connection, and the body can be sent again. It goes with a Content-Length.
    return cfg.proxy.request_buffering ? body_plan::buffer : body_plan::stream;
}

template <class Stream>
void client_session<Stream>::body_buffered(exchange& x) {
    // The head in out_ was written before the body (trailers, which Beast adds to the parsed head, stay out).
    if (x.verdict.framing == body_framing::chunked) reframe_chunked_head(out_, x.buffered->size());
    x.verdict.framing = body_framing::content_length;
    x.verdict.content_length = 0;  // body bytes in in_: none, they are all in x.buffered
    x.held = true;
}

template <class Stream>
void client_session<Stream>::body_read(exchange& x) noexcept {
    x.body_consumed = x.held;
    if (!x.held) return;  // streamed to the node later
    count_received(x.verdict.content_length);
    x.held_length = x.verdict.content_length;  // leaves in_ when the exchange ends
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::read_small_body_whole(exchange& x, const config::config& cfg) {
    set_body_deadline(cfg);
    if (x.expect_continue && in_.size() < x.verdict.content_length) {
        auto [wec, wn] = co_await eager_write(stream_, net::buffer(continue_100));
        if (wec) co_return false;
    }
    while (in_.size() < x.verdict.content_length) {
        auto [rec, n] = co_await read_some_unless_drained(
            stream_, in_.prepare(static_cast<std::size_t>(x.verdict.content_length - in_.size())));
        if (rec) {
            if (timed_out_) co_await respond_error(http::status::request_timeout, "request body not received in time", &x);
            co_return false;
        }
        in_.commit(n);
        set_body_deadline(cfg);
    }
    co_return true;
}

template <class Stream>
void client_session<Stream>::cancel_sockets() noexcept {
    error_code ignored;
    beast::get_lowest_layer(stream_).cancel(ignored);
    upstream_.cancel(ignored);
}

template <class Stream>
void client_session<Stream>::close_sockets() noexcept {
    error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
    upstream_.close(ignored);
}

template <class Stream>
void client_session<Stream>::release_upstream(const exchange& x, bool reusable, const config::config& cfg) {
    if (reusable && !timed_out_ && up_in_.size() == 0 && upstream_.is_open() && x.node &&
        x.nodes_generation == host_.nodes_generation()) {
        host_.pool().put(x.node->index, std::move(upstream_), util::coarse_now_ms() + cfg.timeouts.upstream_idle.count());
        upstream_ = upstream::node_stream(host_.context());
    } else {
        close_upstream();
    }
    up_in_.clear();
}

template <class Stream>
std::string client_session<Stream>::describe(const exchange* x) const {
    std::string s = "client " + peer_ip_;
    if (x && x->request.is_header_done()) {
        const auto& h = x->request.get();
        s.append(" \"").append(h.method_string()).append(" ").append(h.target()).append("\"");
    }
    return s;
}

template <class Stream>
void client_session<Stream>::count_upstream_error(const exchange& x, metrics::upstream_error e) noexcept {
    if (!host_.counting() || !x.node || x.nodes_generation != host_.nodes_generation()) return;
    if (x.node->index < host_.counters().nodes.size())
        ++host_.counters().nodes[x.node->index].errors[static_cast<std::size_t>(e)];
}

// The client streams this file's members are built for: plain TCP and TLS (the same in the other files).
#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template client_session<S>::client_session(session_host&, S&&, const net::ip::address&);                      \
    template client_session<S>::~client_session();                                                                \
    template void client_session<S>::on_deadline(std::int64_t);                                                   \
    template void client_session<S>::on_shutdown();                                                               \
    template void client_session<S>::on_force_close();                                                            \
    template void client_session<S>::on_tick();                                                                   \
    template net::awaitable<void> client_session<S>::run();                                                       \
    template net::awaitable<bool> client_session<S>::serve_request();                                             \
    template net::awaitable<std::optional<std::size_t>> client_session<S>::read_request_head(const config::config&); \
    template body_plan client_session<S>::plan_request_body(exchange&, const config::config&) noexcept;           \
    template void client_session<S>::body_buffered(exchange&);                                                    \
    template void client_session<S>::body_read(exchange&) noexcept;                                               \
    template net::awaitable<bool> client_session<S>::read_small_body_whole(exchange&, const config::config&);     \
    template void client_session<S>::cancel_sockets() noexcept;                                                   \
    template void client_session<S>::close_sockets() noexcept;                                                    \
    template void client_session<S>::release_upstream(const exchange&, bool, const config::config&);              \
    template std::string client_session<S>::describe(const exchange*) const;                                      \
    template void client_session<S>::count_upstream_error(const exchange&, metrics::upstream_error) noexcept;
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
