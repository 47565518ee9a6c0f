// client_session: the tunnel step: a WebSocket upgrade the node switched becomes a byte tunnel between client and
// node, with an idle timeout, half-close passed on, and no buffer held while both directions are quiet.
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>

#include <boost/asio/co_spawn.hpp>
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
net::awaitable<bool> client_session<Stream>::tunnel(exchange& x, const config::config& cfg) {
    x.status = 101;
    tunnel_ = &x.tunnel.emplace();
    if (host_.counting())
        ++host_.counters().websocket_upgrades[static_cast<std::size_t>(metrics::websocket_result::upgraded)];
    tunnel_idle_ms_ = cfg.timeouts.websocket_idle.count();
    tunnel_stall_ms_ = cfg.timeouts.client_idle.count();
    if (co_await open_tunnel(x, cfg)) {
        tunnelling = true;  // counted in gatehouse_websocket_connections{node} and /api/status until it closes
        phase_ = phase::tunnel;
        timed_out_ = false;
        tunnel_->idle_until_ms = util::coarse_now_ms() + tunnel_idle_ms_;
        deadline_ms_ = tunnel_->deadline_ms();
        if (host_.draining()) stop_tunnel_before_drain_ends();  // the stop began while the upgrade was on its way
        // node -> client runs as a coroutine of its own, client -> node in this one, which then waits for the other
        // (on a timer that never expires, cancelled when the other ends): lighter than a parallel group.
        net::steady_timer other_done(host_.context(), net::steady_timer::time_point::max());
        bool other_running = true;
        net::co_spawn(host_.context(), pump_bytes(upstream_, stream_, tunnel_watch{this, false}),
                      [this, &other_done, &other_running](std::exception_ptr, pump_result r) {
                          other_running = false;
                          other_done.cancel();
                          if (is_tls && r.end == pump_end::source_closed) stop_reading_tls_client();
                      });
        co_await pump_bytes(stream_, upstream_, tunnel_watch{this, true});
        while (other_running) co_await other_done.async_wait(use_tuple);
        if constexpr (is_tls) {
            // close_notify before the FIN (pump_bytes does not half-close a TLS stream): a wss client then sees a
            // clean end rather than a truncated stream. Bounded by the closing deadline.
            set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
            co_await stream_.async_shutdown(use_tuple);
        }
        log::debug(describe(&x) + ": WebSocket tunnel to " + x.node->name + " closed by " +
                   std::string(to_string(tunnel_->closed_by.value_or(tunnel_closer::gatehouse))));
    }
    tunnel_ = nullptr;
    tunnelling = false;
    phase_ = phase::closing;
    co_return false;  // the connection closes with its tunnel
}

template <class Stream>
void client_session<Stream>::stop_reading_tls_client() noexcept {
    // The node closed its side: over TLS that cannot be passed on as a half-close (no close_notify may follow a
    // FIN), so the client's side is not read any further and the tunnel ends with close_notify.
    error_code ignored;
    socket_of(stream_).cancel(ignored);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::open_tunnel(exchange& x, const config::config& cfg) {
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
    if (ec) {
        tunnel_->closed_by = tunnel_closer::client;
        co_return false;
    }
    count_tunnel_bytes(false, up_in_.size());
    // The client may have sent frames right behind its request head (before the 101): they go to the node now.
    if (in_.size() > 0) {
        set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
        auto [uec, un] = co_await eager_write(upstream_, in_.data());
        if (uec) {
            tunnel_->closed_by = tunnel_closer::node;
            co_return false;
        }
        count_tunnel_bytes(true, in_.size());
    }
    // From here each direction holds a piece only while bytes are there.
    in_.consume(in_.size());
    in_.shrink_to_fit();
    up_in_.consume(up_in_.size());
    up_in_.shrink_to_fit();
    out_ = std::string();
    co_return true;
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
    // not with a shut-down socket. (A stop by a timeout sets timed_out_; one by the other direction's failure has
    // shut the sockets down already.)
    if (is_tls && to_node && r.ec == net::error::operation_aborted && !timed_out_) return;
    cancel_sockets();
    error_code ignored;
    beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
    upstream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
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
    template net::awaitable<bool> client_session<S>::tunnel(exchange&, const config::config&);                    \
    template net::awaitable<bool> client_session<S>::open_tunnel(exchange&, const config::config&);               \
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
