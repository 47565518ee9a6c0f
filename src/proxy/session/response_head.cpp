// client_session: the node's answer up to its final head: interim answers skipped, failures classified, and
// NocoBase's "maintaining" 503 recognised so that another node can take the request.
#include "client_session.hpp"

#include <gatehouse/health/http_probe.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/read_drain.hpp>

namespace gatehouse::proxy::detail {

namespace {

/// A failure while the response head was read: a timeout, the connection closed or reset, or a bad head.
failure_kind head_failure(const error_code& ec, bool timed_out) {
    if (timed_out) return failure_kind::response_head_timeout;
    const bool closed = ec == http::error::end_of_stream || ec == net::error::eof ||
                        ec == net::error::connection_reset || ec == net::error::broken_pipe;
    return closed ? failure_kind::closed_before_head : failure_kind::invalid_response;
}

constexpr std::size_t upgrade_answer_reserve = 1024;  // a WebSocket upgrade's answer: a 101 head, grown if larger

}  // namespace

template <class Stream>
net::awaitable<std::optional<attempt>> client_session<Stream>::read_final_head(exchange& x, const config::config& cfg,
                                                                               bool reused) {
    set_deadline(phase::response_head, cfg.timeouts.upstream_response);
    // A WebSocket upgrade's answer is a head of a few hundred bytes (a 101) that leaves the buffer at once: no 16 KiB
    // for it (thousands of upgrades in a burst would leave that much free memory in the allocator each).
    up_in_.reserve(x.websocket() ? upgrade_answer_reserve : upstream_read_reserve);
    for (int interim = 0;; ++interim) {
        x.response.emplace();
        x.response->header_limit(response_head_limit);
        x.response->body_limit(boost::none);
        if (x.request.get().method() == http::verb::head) x.response->skip(true);
        const bool had_bytes = up_in_.size() > 0;
        if (const error_code ec = co_await read_response_head(*x.response)) {
            // The node dropped the connection before answering: on a reused connection most likely its idle close
            // racing the request, otherwise it died or restarted. Like Nginx's default proxy_next_upstream, only an
            // idempotent request whose body is still held goes again: nothing of the answer has reached the client.
            const attempt_facts facts{.idempotent = x.idempotent(), .body_held = x.held,
                                      .reused = reused,
                                      .nothing_back = interim == 0 && !had_bytes && !x.response->got_some()};
            co_return co_await fail_attempt(x, cfg, head_failure(ec, timed_out_), ec.message(), facts);
        }
        const unsigned status = x.response->get().result_int();
        if (status >= 200) co_return std::nullopt;
        if (status == 101 && x.websocket()) {  // the final answer to an upgrade: tunnel() takes over
            if (switches_to_websocket(x.response->get())) co_return std::nullopt;
            co_return co_await fail_attempt(x, cfg, failure_kind::invalid_response,
                                            "101 without Upgrade: websocket", {});
        }
        if (status == 101 || interim + 1 >= max_interim_responses) {
            co_return co_await fail_attempt(x, cfg, failure_kind::unexpected_interim, std::to_string(status), {},
                                            {.log = false});
        }
        // Other interim answers (102, 103) are dropped: the final one follows on the same connection.
    }
}

template <class Stream>
net::awaitable<std::optional<attempt>> client_session<Stream>::inspect_503(exchange& x, const config::config& cfg) {
    // NocoBase answers 503 "maintaining" before its app runs (a race with the health checks). Such a node had no
    // side effect, so the request may go to another node.
    auto& response = *x.response;
    std::string body;
    if (auto ec = co_await read_small_body(response, body, static_cast<std::size_t>(*response.content_length()))) {
        x.upstream_status = 0;
        const auto kind = timed_out_ ? failure_kind::inspected_503_timeout : failure_kind::reset_mid_response;
        co_return co_await fail_attempt(x, cfg, kind, ec.message(), {});
    }
    const auto starting = health::nocobase_maintaining(body);
    if (!starting.empty() && x.can_retry_elsewhere) {
        log::info(describe(&x) + ": " + x.node->name + " answered 503 " + starting + ", sending to another node");
        release_upstream(x, response.keep_alive(), cfg);
        x.failure = failure_reason(failure_kind::node_starting, x.node->name, starting);
        x.upstream_status = 0;
        co_return attempt::retry_other;
    }
    x.prefetched_body = std::move(body);
    co_return std::nullopt;
}

template <class Stream>
net::awaitable<error_code> client_session<Stream>::read_response_head(response_parser& parser) {
    // Like http::async_read_header, which queues its completion behind the event loop even when the head is
    // already in up_in_; this parses in place and reads only when more bytes are needed.
    for (;;) {
        if (up_in_.size() > 0) {
            error_code ec;
            const std::size_t used = parser.put(up_in_.data(), ec);
            up_in_.consume(used);
            if (ec && ec != http::error::need_more) co_return ec;  // also an error found as the head ends
            if (parser.is_header_done()) co_return error_code{};
        }
        const std::size_t room = up_in_.max_size() - up_in_.size();
        if (room == 0) co_return make_error_code(http::error::buffer_overflow);
        const std::size_t want = std::min(std::max<std::size_t>(512, up_in_.capacity() - up_in_.size()), room);
        auto [ec, n] = co_await read_some_unless_drained(upstream_, up_in_.prepare(want));
        if (ec == net::error::eof) {
            if (!parser.got_some()) co_return make_error_code(http::error::end_of_stream);
            error_code eof_ec;
            parser.put_eof(eof_ec);
            co_return eof_ec ? eof_ec : make_error_code(http::error::partial_message);
        }
        if (ec) co_return ec;
        up_in_.commit(n);
    }
}

template <class Stream>
net::awaitable<error_code> client_session<Stream>::read_small_body(response_parser& parser, std::string& out,
                                                                   std::size_t size) {
    out.resize(size);
    parser.get().body().data = out.data();
    parser.get().body().size = size;
    while (!parser.is_done()) {
        auto [ec, n] = co_await http::async_read_some(upstream_, up_in_, parser, use_tuple);
        if (ec && ec != http::error::need_buffer) co_return ec;
        if (ec == http::error::need_buffer && !parser.is_done()) co_return make_error_code(http::error::body_limit);
    }
    out.resize(size - parser.get().body().size);
    co_return error_code{};
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template net::awaitable<std::optional<attempt>> client_session<S>::read_final_head(exchange&,                 \
                                                                                       const config::config&, bool); \
    template net::awaitable<std::optional<attempt>> client_session<S>::inspect_503(exchange&, const config::config&); \
    template net::awaitable<error_code> client_session<S>::read_response_head(response_parser&);                  \
    template net::awaitable<error_code> client_session<S>::read_small_body(response_parser&, std::string&,        \
                                                                           std::size_t);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
