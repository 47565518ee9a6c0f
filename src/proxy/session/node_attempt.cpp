// client_session: one try at one node: connect (or ride a pooled connection), send the request, and the one place
// a failed try is recorded (record_failure) and decided (fail_attempt).
#include "client_session.hpp"

#include <gatehouse/health/passive.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/node_tls.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <array>

namespace gatehouse::proxy::detail {

namespace {

/// Why a request that may have reached a node is not sent again, for the log.
std::string never_sent_twice(const exchange& x) {
    const auto& h = x.request.get();
    if (x.websocket()) return " (the node may have received it; an upgrade is never sent twice)";
    if (!is_idempotent(h.method()))
        return " (the node may have received it; a " + std::string(h.method_string()) + " is never sent twice)";
    return " (its body was streamed, so it cannot be sent again)";
}

/// The request's parser error that makes a streamed body malformed (400), rather than the client leaving.
bool malformed_body_error(const error_code& ec) {
    return ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension ||
           ec == http::error::buffer_overflow || ec == http::error::bad_transfer_encoding ||
           ec == http::error::bad_content_length || ec == http::error::bad_field || ec == http::error::bad_value;
}

}  // namespace

template <class Stream>
net::awaitable<attempt> client_session<Stream>::try_node(exchange& x, const config::config& cfg, bool reused) {
    if (!reused) {
        if (const error_code ec = co_await connect_node(*x.node, cfg)) {
            const auto kind = timed_out_ ? failure_kind::connect_timeout : failure_kind::connect_refused;
            co_return co_await fail_attempt(x, cfg, kind, ec.message(), {});
        }
        if (host_.counting() && x.nodes_generation == host_.nodes_generation())
            ++host_.counters().nodes[x.node->index].connections_opened;
        if (x.node->tls) {
            if (const error_code ec = co_await tls_handshake(*x.node, cfg)) {
                const auto kind = timed_out_ ? failure_kind::connect_timeout : failure_kind::tls_handshake;
                const std::string detail = node_tls::failure_detail(upstream_.tls()->native_handle(), ec);
                co_return co_await fail_attempt(x, cfg, kind, detail, {});
            }
        }
    }
    if (const auto stop = co_await send_request(x, cfg, reused)) co_return *stop;
    if (const auto stop = co_await read_final_head(x, cfg, reused)) co_return *stop;

    auto& response = *x.response;
    const unsigned status = response.get().result_int();
    x.upstream_status = status;
    x.upstream_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.upstream_sent).count();
    if (status == 503 && !response.is_done() && response.content_length() &&
        *response.content_length() <= max_inspected_503) {
        if (const auto stop = co_await inspect_503(x, cfg)) co_return *stop;
    }
    if (status >= 500 && cfg.health_check.fail_on_5xx) passive_failure(x, cfg);
    else health::report_success(*x.node->status);
    co_return attempt::answered;
}

template <class Stream>
net::awaitable<error_code> client_session<Stream>::connect_node(const model::node& node, const config::config& cfg) {
    upstream_ = upstream::node_stream(host_.context());
    auto& socket = upstream_.socket();
    set_deadline(phase::connect, cfg.timeouts.upstream_connect);
    error_code ec;
    socket.open(node.endpoint.protocol(), ec);
    if (ec) co_return ec;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);  // for eager_write; set before connecting, Asio sets it once
    watch_peer_close_once_connected(socket);
    // Nothing can be read from a socket that is not connected yet, and every readiness event from now on
    // clears the mark: the read of the node's answer waits for its event instead of trying first.
    mark_drained(socket);
    std::tie(ec) = co_await socket.async_connect(node.endpoint, use_tuple);
    // Unwatched (epoll_ctl failed), the socket is never marked drained: a missed saving, nothing worse.
    if (!ec) watch_peer_close(socket, ignored);
    co_return ec;
}

template <class Stream>
net::awaitable<error_code> client_session<Stream>::tls_handshake(const model::node& node, const config::config& cfg) {
    set_deadline(phase::connect, cfg.timeouts.upstream_connect);
    auto& tls = upstream_.start_tls(*node.tls);
    if (!node_tls::prepare(tls.native_handle(), node.tls_names)) co_return make_error_code(net::error::invalid_argument);
    auto [ec] = co_await tls.async_handshake(upstream::ssl::stream_base::client, use_tuple);
    co_return ec;
}

template <class Stream>
net::awaitable<std::optional<attempt>> client_session<Stream>::send_request(exchange& x, const config::config& cfg,
                                                                            bool reused) {
    set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
    x.upstream_sent = std::chrono::steady_clock::now();
    // The head goes out with the body bytes already here: all of a held body, what came with the head otherwise.
    const std::size_t body_now =
        x.held ? static_cast<std::size_t>(x.verdict.content_length)
               : (x.verdict.framing == body_framing::content_length
                      ? static_cast<std::size_t>(std::min<std::uint64_t>(in_.size(), x.verdict.content_length))
                      : 0);
    const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(in_.data().data(), body_now)};
    auto [ec, n] = co_await eager_write(upstream_, pieces);
    if (ec) {
        const attempt_facts facts{.idempotent = x.idempotent(), .body_held = x.held,
                                  .reused = reused, .bytes_written = n, .nothing_back = true};
        co_return co_await fail_attempt(x, cfg, failure_kind::send_failed, ec.message(), facts);
    }
    if (!x.held && body_now > 0) {
        in_.consume(body_now);
        x.verdict.content_length -= body_now;
    }
    if (x.buffered) {
        if (const auto failed = co_await send_buffered_body(x, cfg, reused)) co_return *failed;
    }
    if (!x.held) co_return co_await stream_request_body(x, cfg);
    co_return std::nullopt;
}

template <class Stream>
net::awaitable<std::optional<attempt>> client_session<Stream>::stream_request_body(exchange& x,
                                                                                   const config::config& cfg) {
    // Streamed body: from here on the request cannot be sent again.
    if (x.expect_continue) {
        auto [ec, n] = co_await eager_write(stream_, net::buffer(continue_100));
        if (ec) co_return attempt::failed;
    }
    const auto progress = [this, &cfg](relay_wait wait) {
        if (wait == relay_wait::read) set_body_deadline(cfg);  // client_idle, within timeouts.client_body
        else set_deadline(phase::request_body, cfg.timeouts.client_idle);
    };
    relay_result r;
    if (x.verdict.framing == body_framing::content_length) {
        r = co_await relay_content_length(stream_, in_, upstream_, x.verdict.content_length, progress);
    } else {
        r = co_await relay_parsed_body(stream_, in_, x.request, upstream_, relay_output::chunked,
                                       cfg.limits.max_request_body, progress);
    }
    if (r.failed == relay_side::destination && !r.too_large) {
        const attempt_facts facts{.idempotent = x.idempotent(), .body_held = false};
        co_return co_await fail_attempt(x, cfg, failure_kind::body_send_failed, r.ec.message(), facts, {.log = false});
    }
    if (r.failed != relay_side::none) {
        close_upstream();
        co_await answer_client_body_failure(x, r);
        co_return attempt::failed;
    }
    x.body_consumed = true;
    count_received(r.bytes);
    co_return std::nullopt;
}

template <class Stream>
net::awaitable<void> client_session<Stream>::answer_client_body_failure(exchange& x, const relay_result& r) {
    if (r.too_large) {
        co_await answer_failure(x, failure_kind::body_too_large);
    } else if (timed_out_) {
        co_await answer_failure(x, failure_kind::client_body_timeout);
    } else if (malformed_body_error(r.ec)) {
        co_await answer_failure(x, failure_kind::malformed_body, r.ec.message());
    } else {
        log::debug(describe(&x) + " left while sending its body: " + r.ec.message());
    }
}

template <class Stream>
void client_session<Stream>::record_failure(exchange& x, const config::config& cfg, failure_kind kind,
                                            std::string_view detail, failure_note note) {
    x.failure = failure_reason(kind, x.node ? std::string_view(x.node->name) : std::string_view{}, detail);
    if (note.log) log::warning(describe(&x) + ": " + x.failure);
    if (note.passive && counts_against_node(kind)) passive_failure(x, cfg);
    if (const auto label = upstream_error_of(kind)) count_upstream_error(x, *label);
}

template <class Stream>
net::awaitable<attempt> client_session<Stream>::fail_attempt(exchange& x, const config::config& cfg,
                                                             failure_kind kind, std::string_view detail,
                                                             const attempt_facts& facts, failure_note note) {
    close_upstream();
    up_in_.clear();
    const resend_decision decision = retry_after(kind, facts);
    if (decision == resend_decision::fresh_connection) co_return attempt::retry_fresh;  // nothing to record
    std::string why(detail);
    if (explains_no_resend(kind, facts, decision)) why += never_sent_twice(x);
    note.passive = note.passive && !idle_close_race(kind, facts);
    record_failure(x, cfg, kind, why, note);
    if (decision == resend_decision::another_node) co_return attempt::retry_other;
    co_await respond_error(client_status(kind), x.failure, &x);
    co_return attempt::failed;
}

template <class Stream>
void client_session<Stream>::passive_failure(const exchange& x, const config::config& cfg) {
    const auto ejected = health::report_failure(*x.node->status, cfg.health_check, util::coarse_now_ms());
    if (ejected.count() > 0)
        log::warning(x.node->name + " ejected for " + std::to_string(ejected.count()) + " ms: " +
                     std::to_string(cfg.health_check.max_fails) + " consecutive failed requests (last: " + x.failure +
                     ")");
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template net::awaitable<attempt> client_session<S>::try_node(exchange&, const config::config&, bool);         \
    template net::awaitable<error_code> client_session<S>::connect_node(const model::node&, const config::config&); \
    template net::awaitable<error_code> client_session<S>::tls_handshake(const model::node&, const config::config&); \
    template net::awaitable<std::optional<attempt>> client_session<S>::send_request(exchange&, const config::config&, \
                                                                                    bool);                        \
    template net::awaitable<std::optional<attempt>> client_session<S>::stream_request_body(exchange&,             \
                                                                                           const config::config&); \
    template net::awaitable<void> client_session<S>::answer_client_body_failure(exchange&, const relay_result&);  \
    template void client_session<S>::record_failure(exchange&, const config::config&, failure_kind,               \
                                                    std::string_view, failure_note);                              \
    template net::awaitable<attempt> client_session<S>::fail_attempt(exchange&, const config::config&, failure_kind, \
                                                                     std::string_view, const attempt_facts&,      \
                                                                     failure_note);                               \
    template void client_session<S>::passive_failure(const exchange&, const config::config&);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
