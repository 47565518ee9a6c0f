// client_session: gatehouse's own error answers, the lingering close after them, and the end of every exchange
// (counters and the access log).
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/error_response.hpp>
#include <gatehouse/proxy/field_lists.hpp>
#include <gatehouse/proxy/https_redirect.hpp>

namespace gatehouse::proxy::detail {

template <class Stream>
net::awaitable<void> client_session<Stream>::respond_error(http::status status, std::string_view detail,
                                                          exchange* x, bool keep_alive) {
    const auto code = static_cast<unsigned>(status);
    auto line = describe(x) + ": " + std::to_string(code) + " " + std::string(http::obsolete_reason(status)) + " (" +
                std::string(detail) + ")";
    if (code >= 500) log::warning(line);
    else log::info(line);

    keep_alive = keep_alive && !host_.draining();
    out_ = error_response(status, detail, x ? x->request_id : std::string_view{}, keep_alive);
    add_own_fields();
    const auto head_end = out_.find("\r\n\r\n");
    const std::uint64_t body = head_end == std::string::npos ? 0 : out_.size() - head_end - 4;
    if (x) {
        x->status = code;
        x->sent_bytes = out_.size();
        x->body_bytes_sent = body;
        x->own = metrics::own_reason_of_status(code);
    } else {
        record_headless_answer(code, out_.size());
    }
    co_await send_own_answer(keep_alive);
}

template <class Stream>
void client_session<Stream>::record_headless_answer(unsigned status, std::uint64_t sent_bytes) noexcept {
    const bool counting = host_.counting();
    if (!counting && !host_.access_logging()) return;
    const double request_time =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started_).count();
    if (counting) {
        auto& c = host_.counters();
        c.request_duration.observe(request_time);
        c.sent_bytes += sent_bytes;
        const auto reason = metrics::own_reason_of_status(status);
        ++c.own[static_cast<std::size_t>(reason)][metrics::status_class(status)];
    }
    if (host_.access_logging()) {
        log::access_record r;
        r.client_ip = peer_ip_;
        r.peer_ip = peer_ip_;
        r.status = status;
        r.request_time = request_time;
        r.unix_ms = util::coarse_unix_ms();
        host_.log_access(r);
    }
}

template <class Stream>
void client_session<Stream>::finish_request(const exchange& x) noexcept {
    if (x.status == 0) return;  // the client left before any answer
    if (!host_.counting() && !host_.access_logging()) return;
    const double request_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.started).count();
    if (host_.counting()) count_request(x, request_time);
    if (host_.access_logging() && !x.tunnel) log_request(x, request_time);  // a tunnel logs itself when it closes
}

template <class Stream>
void client_session<Stream>::count_request(const exchange& x, double request_time) noexcept {
    auto& c = host_.counters();
    // A tunnel's request lasted until its 101 went out; the tunnel's own time is in its access log line.
    c.request_duration.observe(
        x.tunnel ? std::chrono::duration<double>(x.tunnel->opened - x.started).count() : request_time);
    c.sent_bytes += x.sent_bytes;
    if (x.websocket() && !x.tunnel) count_websocket_upgrade(x);  // a tunnel counted itself when it opened
    const bool node_valid = x.node && x.nodes_generation == host_.nodes_generation();
    if (x.own) {
        ++c.own[static_cast<std::size_t>(*x.own)][metrics::status_class(x.status)];
    } else if (node_valid && x.upstream_status != 0 && x.node->index < c.nodes.size()) {
        auto& n = c.nodes[x.node->index];
        ++n.responses[metrics::status_class(x.upstream_status)];
        if (x.upstream_time >= 0) n.response_time.observe(x.upstream_time);
    }
}

template <class Stream>
void client_session<Stream>::count_websocket_upgrade(const exchange& x) noexcept {
    auto result = metrics::websocket_result::declined;  // the node answered without switching
    if (x.own == metrics::own_reason::maintenance || x.own == metrics::own_reason::no_node)
        result = metrics::websocket_result::unavailable;
    else if (x.own) result = metrics::websocket_result::failed;
    ++host_.counters().websocket_upgrades[static_cast<std::size_t>(result)];
}

template <class Stream>
void client_session<Stream>::log_request(const exchange& x, double request_time) noexcept {
    log::access_record r = access_of(x);
    r.request_time = request_time;
    r.unix_ms = util::coarse_unix_ms();
    host_.log_access(r);
}

template <class Stream>
log::access_record client_session<Stream>::access_of(const exchange& x) const noexcept {
    const auto& h = x.request.get();
    log::access_record r;
    r.client_ip = x.client_ip.empty() ? std::string_view(peer_ip_) : x.client_ip;
    r.peer_ip = peer_ip_;
    r.method = h.method_string();
    r.target = h.target();
    r.http_version = h.version();
    r.status = x.status;
    r.body_bytes_sent = x.body_bytes_sent;
    r.referer = first_value(h, http::field::referer);
    r.user_agent = first_value(h, http::field::user_agent);
    r.request_id = x.request_id;
    if (x.node && x.upstream_status != 0) r.node = x.node->name;
    else if (x.node && x.own == metrics::own_reason::bad_gateway) r.node = x.node->name;
    r.upstream_status = x.upstream_status;
    r.upstream_time = x.upstream_time;
    r.maintenance = x.maintenance;
    r.bypass = x.bypassed;
    return r;
}

template <class Stream>
net::awaitable<void> client_session<Stream>::answer_failure(exchange& x, failure_kind kind, std::string_view detail) {
    x.failure = failure_reason(kind, {}, detail);
    co_await respond_error(client_status(kind), x.failure, &x);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::answer_bad_gateway(exchange& x) {
    if (x.failure.empty()) x.failure = failure_reason(failure_kind::no_node, {}, {});
    const bool keep = x.keep_alive && x.body_consumed;
    co_await respond_error(http::status::bad_gateway, x.failure, &x, keep);
    co_return keep && !host_.draining();
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::redirect_to_https(exchange& x, const config::config& cfg) {
    const auto& head = x.request.get();
    const auto location = https_location(head[http::field::host], head.target(), cfg.tls.listen.front().port);
    if (!location) {
        co_await respond_error(http::status::bad_request, "no usable Host header to redirect to https", &x);
        co_return false;
    }
    const bool keep = x.keep_alive && x.body_consumed && !host_.draining();
    const std::string location_field = "Location: " + *location + "\r\n";
    out_ = own_response(http::status::moved_permanently, "text/plain", {}, x.request_id, keep, location_field);
    x.status = 301;
    x.sent_bytes = out_.size();
    x.body_bytes_sent = 0;
    x.own = metrics::own_reason::redirect;
    co_return co_await send_own_answer(keep);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::send_own_answer(bool keep_alive) {
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    auto [ec, n] = co_await eager_write(stream_, net::buffer(out_));
    if (ec) co_return false;
    if (!keep_alive) co_await linger_close();
    co_return keep_alive;
}

template <class Stream>
void client_session<Stream>::add_own_fields() {
    if constexpr (is_tls) {
        const std::string& hsts = host_.snapshot()->config->tls.hsts;
        if (!hsts.empty()) add_field(out_, "Strict-Transport-Security", hsts);
    }
}

template <class Stream>
net::awaitable<void> client_session<Stream>::linger_close() {
    // Closing with unread input makes the kernel send a reset, which can destroy the answer before the client
    // reads it. Stop sending, read what the client still sends for a short while, then close.
    if constexpr (is_tls) co_await send_close_notify();  // before the FIN
    auto& socket = beast::get_lowest_layer(stream_);
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    std::uint64_t drained = 0;
    char sink[4096];
    while (!ec && drained < linger_bytes) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await socket.async_read_some(net::buffer(sink), use_tuple);
        drained += n;
    }
    close_sockets();
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template net::awaitable<void> client_session<S>::respond_error(http::status, std::string_view, exchange*, bool); \
    template void client_session<S>::record_headless_answer(unsigned, std::uint64_t) noexcept;                    \
    template void client_session<S>::finish_request(const exchange&) noexcept;                                   \
    template void client_session<S>::count_request(const exchange&, double) noexcept;                             \
    template void client_session<S>::count_websocket_upgrade(const exchange&) noexcept;                           \
    template void client_session<S>::log_request(const exchange&, double) noexcept;                               \
    template log::access_record client_session<S>::access_of(const exchange&) const noexcept;                     \
    template net::awaitable<void> client_session<S>::answer_failure(exchange&, failure_kind, std::string_view);   \
    template net::awaitable<bool> client_session<S>::answer_bad_gateway(exchange&);                               \
    template net::awaitable<bool> client_session<S>::redirect_to_https(exchange&, const config::config&);        \
    template net::awaitable<bool> client_session<S>::send_own_answer(bool);                                       \
    template net::awaitable<void> client_session<S>::linger_close();                                              \
    template void client_session<S>::add_own_fields();
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
