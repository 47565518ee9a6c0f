// client_session: the tunnel step: a WebSocket upgrade the node switched becomes a byte tunnel between client and
// node, with an idle timeout, half-close passed on, and no buffer held while both directions are quiet.
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>

#include <boost/asio/steady_timer.hpp>

#include <array>

namespace gatehouse::proxy::detail {

namespace {

/// The side whose FIN or failure ended direction `to_node` (client -> node, else node -> client) with `r`.
tunnel_closer closer_of(bool to_node, const pump_result& r) noexcept {
    const bool source_side = r.end != pump_end::destination_failed;
    const bool client = source_side == to_node;  // the client is the source of client -> node
    return client ? tunnel_closer::client : tunnel_closer::node;
}

constexpr auto direction_index(bool to_node) noexcept {
    return static_cast<std::size_t>(to_node ? metrics::tunnel_direction::client_to_node
                                            : metrics::tunnel_direction::node_to_client);
}

}  // namespace

template <class Stream>
net::awaitable<bool> client_session<Stream>::open_tunnel(exchange& x, const config::config& cfg) {
    x.status = 101;
    tunnel_ = std::make_unique<tunnel_record>();
    if (host_.counting())
        ++host_.counters().websocket_upgrades[static_cast<std::size_t>(metrics::websocket_result::upgraded)];
    tunnel_idle_ms_ = cfg.timeouts.websocket_idle.count();
    tunnel_stall_ms_ = cfg.timeouts.client_idle.count();
    response_head_options options;
    options.request_id = x.request_id;
    options.switching_protocols = true;
    out_.clear();
    write_client_response_head(out_, x.response->get(), options);
    x.response.reset();  // its fields are not needed any more
    // The node may have sent its first frames right behind the 101: they go with it.
    set_deadline(phase::response_body, cfg.timeouts.client_idle);
    const std::array<net::const_buffer, 2> head{net::buffer(out_), up_in_.data()};
    auto [ec, n] = co_await eager_write(stream_, head);
    tunnel_->opened = std::chrono::steady_clock::now();
    x.sent_bytes = std::min<std::size_t>(n, out_.size());
    bool open = !ec;
    if (ec) tunnel_->closed_by = tunnel_closer::client;
    else count_tunnel_bytes(false, up_in_.size());
    // The client may have sent frames right behind its request head (before the 101): they go to the node now.
    if (open && in_.size() > 0) {
        set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
        auto [uec, un] = co_await eager_write(upstream_, in_.data());
        if (uec) tunnel_->closed_by = tunnel_closer::node;
        else count_tunnel_bytes(true, in_.size());
        open = !uec;
    }
    // From here each direction holds a piece only while bytes are there.
    in_.consume(in_.size());
    in_.shrink_to_fit();
    up_in_.consume(up_in_.size());
    up_in_.shrink_to_fit();
    out_ = std::string();
    hand_over_tunnel(x, open);
    co_return false;  // the connection closes with its tunnel
}

template <class Stream>
void client_session<Stream>::hand_over_tunnel(exchange& x, bool open) {
    tunnel_->open = open;
    tunnel_->started = x.started;
    tunnel_->line = access_of(x);
    log::keep_strings(tunnel_->line, tunnel_->strings);
    // The in-flight count moves from the exchange to the tunnel (the worker keeps the session's node index current).
    const std::size_t node = in_flight_node;
    x.in_flight.reset();
    if (open && node != no_node) tunnel_->in_flight.emplace(host_, *this, node);
    x.tunnel = static_cast<const tunnel_state&>(*tunnel_);  // the request's counters: it lasted until the 101; its log line is the tunnel's
}

template <class Stream>
net::awaitable<void> client_session<Stream>::tunnel() {
    if (tunnel_->open) {
        tunnelling = true;  // counted in gatehouse_websocket_connections{node} and /api/status until it closes
        phase_ = phase::tunnel;
        timed_out_ = false;
        tunnel_->idle_until_ms = util::coarse_now_ms() + tunnel_idle_ms_;
        deadline_ms_ = tunnel_->deadline_ms();
        if (host_.draining()) stop_tunnel_before_drain_ends();  // the stop began while the upgrade was on its way
        watch_node_drain();
        // Each direction is driven by completion handlers (an idle one costs a pending read into its 64 bytes); this
        // coroutine waits for both on a timer that never expires, cancelled when the second ends.
        net::steady_timer both_done(host_.context(), net::steady_timer::time_point::max());
        int running = 2;
        const auto ended = [&both_done, &running](const pump_result&) {
            if (--running == 0) both_done.cancel();
        };
        byte_pump<Stream, upstream::node_stream, tunnel_watch> to_node(stream_, upstream_, tunnel_watch{this, true});
        byte_pump<upstream::node_stream, Stream, tunnel_watch> to_client(upstream_, stream_, tunnel_watch{this, false});
        to_node.start(ended);
        to_client.start([this, &ended](const pump_result& r) {
            if (is_tls && r.end == pump_end::source_closed) stop_reading_tls_client();
            ended(r);
        });
        while (running > 0) co_await both_done.async_wait(use_tuple);
    }
    log_tunnel();  // before a wss close_notify, which may wait (a stop must not lose the line)
    const bool was_open = tunnel_->open;
    tunnelling = false;
    tunnel_.reset();  // its in-flight count ends
    phase_ = phase::closing;
    if constexpr (is_tls) {
        // close_notify before the FIN (a TLS client is never half-closed by the pump): a wss client then sees a
        // clean end rather than a truncated stream, also when gatehouse closes the tunnel (idle, drain, stop).
        // Bounded by the closing deadline.
        if (was_open) {
            set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
            co_await stream_.async_shutdown(use_tuple);
        }
    }
}

template <class Stream>
void client_session<Stream>::log_tunnel() noexcept {
    if (tunnel_->open)
        log::debug("client " + peer_ip_ + " \"" + std::string(tunnel_->line.method) + " " +
                   std::string(tunnel_->line.target) + "\": WebSocket tunnel to " + std::string(tunnel_->line.node) +
                   " closed by " + std::string(to_string(tunnel_->closed_by.value_or(tunnel_closer::gatehouse))));
    if (!host_.access_logging()) return;
    log::access_record r = tunnel_->line;
    r.request_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - tunnel_->started).count();
    r.tunnel = true;
    r.body_bytes_sent = tunnel_->to_client;
    r.tunnel_from_client = tunnel_->from_client;
    r.tunnel_closed_by = to_string(tunnel_->closed_by.value_or(tunnel_closer::gatehouse));
    r.unix_ms = util::coarse_unix_ms();
    host_.log_access(r);
}

template <class Stream>
void client_session<Stream>::watch_node_drain() noexcept {
    if (!tunnel_ || in_flight_node == no_node) return;
    const model::snapshot& nodes = *host_.snapshot();  // the worker's newest: a drain or a reload shows at once
    const auto after = nodes.config->upstream.drain_websockets_after.count();
    const bool drained =
        after > 0 && in_flight_node < nodes.nodes.size() && !nodes.nodes[in_flight_node].takes_new_requests;
    // Drained, disabled, or another node pinned: the tunnel keeps going for drain_websockets_after, then closes
    // (FIN both ways: the deadline cancels both directions, whose ends shut both sockets down). Put back before
    // then, it stays.
    if (!drained) tunnel_->drain_close_at_ms = tunnel_state::never;
    else if (tunnel_->drain_close_at_ms == tunnel_state::never) tunnel_->drain_close_at_ms = util::coarse_now_ms() + after;
    if (!timed_out_) deadline_ms_ = tunnel_->deadline_ms();
}

template <class Stream>
void client_session<Stream>::count_tunnel_bytes(bool to_node, std::size_t n) noexcept {
    (to_node ? tunnel_->from_client : tunnel_->to_client) += n;
    if (host_.counting()) host_.counters().websocket_bytes[direction_index(to_node)] += n;
}

template <class Stream>
void client_session<Stream>::tunnel_writing(bool to_node) noexcept {
    // A write that waits longer than client_idle waits on a side that stopped reading: the tunnel ends.
    tunnel_->stall_until_ms[to_node] = util::coarse_now_ms() + tunnel_stall_ms_;
    if (!timed_out_) deadline_ms_ = tunnel_->deadline_ms();
}

template <class Stream>
void client_session<Stream>::tunnel_moved(bool to_node, std::string_view piece) noexcept {
    count_tunnel_bytes(to_node, piece.size());
    if (!tunnel_->close_frame_from && is_close_frame(piece))
        tunnel_->close_frame_from = to_node ? tunnel_closer::client : tunnel_closer::node;
    tunnel_->stall_until_ms[to_node] = tunnel_state::never;
    tunnel_->idle_until_ms = util::coarse_now_ms() + tunnel_idle_ms_;
    if (!timed_out_) deadline_ms_ = tunnel_->deadline_ms();
}

template <class Stream>
void client_session<Stream>::tunnel_ended(bool to_node, const pump_result& r) noexcept {
    // Who closed: gatehouse on a timeout or a stop; otherwise who began the closing handshake when it was seen
    // (the server always ends the TCP connection first), else whose FIN or failure came first.
    if (!tunnel_->closed_by)
        tunnel_->closed_by = timed_out_ ? tunnel_closer::gatehouse
                                        : tunnel_->close_frame_from.value_or(closer_of(to_node, r));
    // A FIN ends one direction only (the other side may still answer); anything else ends both: the other
    // direction's wait is cancelled, and should its completion be queued already, the shut-down sockets end the
    // next one at once.
    if (r.end == pump_end::source_closed) return;
    // wss: client -> node stopped by stop_reading_tls_client (the node closed): the tunnel ends with close_notify,
    // not with a shut-down socket.
    if (is_tls && to_node && r.ec == net::error::operation_aborted && tunnel_->stopped[1] && !timed_out_) return;
    tunnel_->stopped[0] = tunnel_->stopped[1] = true;  // a completion already queued does not wait again
    cancel_sockets();
    error_code ignored;
    upstream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    // Closed by gatehouse (idle, drain_websockets_after, a stop), a wss client still gets close_notify first.
    if (!(is_tls && timed_out_)) beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
}

template <class Stream>
void client_session<Stream>::stop_reading_tls_client() noexcept {
    // The node closed its side: over TLS that cannot be passed on as a half-close (no close_notify may follow a
    // FIN), so the client's side is not read any further and the tunnel ends with close_notify.
    tunnel_->stopped[1] = true;
    error_code ignored;
    socket_of(stream_).cancel(ignored);
}

template <class Stream>
void client_session<Stream>::stop_tunnel_before_drain_ends() noexcept {
    // The worker is forced to stop when shutdown_drain ends; closing a little before lets the tunnel end by itself,
    // with its access log line and counters.
    const auto drain = host_.snapshot()->config->timeouts.shutdown_drain.count();
    tunnel_->stop_at_ms = util::coarse_now_ms() + std::max<std::int64_t>(drain - stop_margin_ms, 0);
    if (!timed_out_) deadline_ms_ = tunnel_->deadline_ms();
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template net::awaitable<bool> client_session<S>::open_tunnel(exchange&, const config::config&);               \
    template void client_session<S>::hand_over_tunnel(exchange&, bool);                                           \
    template net::awaitable<void> client_session<S>::tunnel();                                                    \
    template void client_session<S>::log_tunnel() noexcept;                                                       \
    template void client_session<S>::watch_node_drain() noexcept;                                                 \
    template void client_session<S>::count_tunnel_bytes(bool, std::size_t) noexcept;                             \
    template void client_session<S>::tunnel_writing(bool) noexcept;                                               \
    template void client_session<S>::tunnel_moved(bool, std::string_view) noexcept;                                   \
    template void client_session<S>::tunnel_ended(bool, const pump_result&) noexcept;                             \
    template void client_session<S>::stop_tunnel_before_drain_ends() noexcept;                                    \
    template void client_session<S>::stop_reading_tls_client() noexcept;
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
