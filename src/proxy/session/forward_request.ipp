// client_session: one try at one node: connect or reuse, send the request, read the response head.
#pragma once

#include "client_session.hpp"

namespace gatehouse::proxy::detail {

template <class Stream>
net::awaitable<attempt> client_session<Stream>::try_node(exchange& x, const config::config& cfg, bool reused) {
    const auto& node = *x.node;
    if (!reused) {
        upstream_ = tcp::socket(owner_.context());
        set_deadline(phase::connect, cfg.timeouts.upstream_connect);
        error_code ec;
        upstream_.open(node.endpoint.protocol(), ec);
        if (!ec) {
            error_code ignored;
            upstream_.set_option(tcp::no_delay(true), ignored);
            upstream_.non_blocking(true, ignored);  // for eager_write; set before connecting, Asio sets it once
            watch_peer_close_once_connected(upstream_);
            // Nothing can be read from a socket that is not connected yet, and every readiness event from now on
            // clears the mark: the read of the node's answer waits for its event instead of trying first.
            mark_drained(upstream_);
            std::tie(ec) = co_await upstream_.async_connect(node.endpoint, use_tuple);
            // Unwatched (epoll_ctl failed), the socket is never marked drained: a missed saving, nothing worse.
            if (!ec) watch_peer_close(upstream_, ignored);
        }
        if (ec) {
            x.failure = "cannot connect to " + node.name + ": " + (timed_out_ ? "timed out" : ec.message());
            log::warning(describe(&x) + ": " + x.failure);
            passive_failure(x, cfg);
            count_upstream_error(x, metrics::upstream_error::connect);
            error_code ignored;
            upstream_.close(ignored);
            co_return attempt::retry_other;
        }
    }

    const bool idempotent = is_idempotent(x.request.get().method());
    set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
    x.upstream_sent = std::chrono::steady_clock::now();
    {
        const std::size_t body_now =
            x.held ? static_cast<std::size_t>(x.verdict.content_length)
                   : (x.verdict.framing == body_framing::content_length
                          ? static_cast<std::size_t>(std::min<std::uint64_t>(in_.size(), x.verdict.content_length))
                          : 0);
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(in_.data().data(), body_now)};
        auto [ec, n] = co_await eager_write(upstream_, pieces);
        if (ec) {
            error_code ignored;
            upstream_.close(ignored);
            const auto decision = after_send_failed(idempotent, x.held, reused, n);
            if (decision == resend_decision::fresh_connection) co_return attempt::retry_fresh;
            x.failure = "node " + node.name + " failed while the request was sent: " + ec.message();
            if (decision == resend_decision::never) x.failure += never_sent_twice(x);
            log::warning(describe(&x) + ": " + x.failure);
            count_upstream_error(x, metrics::upstream_error::reset);
            if (decision == resend_decision::another_node) co_return attempt::retry_other;
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        if (!x.held && body_now > 0) {
            in_.consume(body_now);
            x.verdict.content_length -= body_now;
        }
    }
    if (x.buffered) {
        if (const auto failed = co_await send_buffered_body(x, cfg, reused)) co_return *failed;
    }

    if (!x.held) {
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
        if (r.failed != relay_side::none) {
            error_code ignored;
            upstream_.close(ignored);
            if (r.too_large) {
                co_await respond_error(http::status::payload_too_large, "request body too large", &x);
            } else if (r.failed == relay_side::source) {
                if (timed_out_) co_await respond_error(http::status::request_timeout, "request body not received in time", &x);
                else if (r.ec == http::error::bad_chunk || r.ec == http::error::bad_chunk_extension ||
                         r.ec == http::error::buffer_overflow || r.ec == http::error::bad_transfer_encoding ||
                         r.ec == http::error::bad_content_length || r.ec == http::error::bad_field ||
                         r.ec == http::error::bad_value)
                {
                    x.failure = "malformed request body: " + r.ec.message();
                    co_await respond_error(http::status::bad_request, x.failure, &x);
                }
                else log::debug(describe(&x) + " left while sending its body: " + r.ec.message());
            } else {
                x.failure = "node " + node.name + " failed while the request body was sent: " + r.ec.message();
                count_upstream_error(x, metrics::upstream_error::reset);
                co_await respond_error(http::status::bad_gateway, x.failure, &x);
            }
            co_return attempt::failed;
        }
        x.body_consumed = true;
        count_received(r.bytes);
    }

    set_deadline(phase::response_head, cfg.timeouts.upstream_response);
    up_in_.reserve(upstream_read_reserve);
    for (int interim = 0;; ++interim) {
        x.response.emplace();
        x.response->header_limit(response_head_limit);
        x.response->body_limit(boost::none);
        if (x.request.get().method() == http::verb::head) x.response->skip(true);
        const bool had_bytes = up_in_.size() > 0;
        const error_code ec = co_await read_response_head(*x.response);
        if (ec) {
            const bool nothing_back = interim == 0 && !had_bytes && !x.response->got_some();
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            if (timed_out_) {
                x.failure = "node " + node.name + " sent no response in time";
                log::warning(describe(&x) + ": " + x.failure);
                passive_failure(x, cfg);
                count_upstream_error(x, metrics::upstream_error::timeout);
                co_await respond_error(http::status::gateway_timeout, x.failure, &x);
                co_return attempt::failed;
            }
            // The node dropped the connection before answering: on a reused connection most likely its idle close
            // racing the request, otherwise it died or restarted. Like Nginx's default proxy_next_upstream, only an
            // idempotent request whose body is still held goes again: nothing of the answer has reached the client.
            const auto decision =
                nothing_back ? after_no_answer(idempotent, x.held, reused) : resend_decision::never;
            if (decision == resend_decision::fresh_connection) co_return attempt::retry_fresh;
            x.failure = "node " + node.name + " sent no valid response: " + ec.message();
            if (nothing_back && decision == resend_decision::never) x.failure += never_sent_twice(x);
            log::warning(describe(&x) + ": " + x.failure);
            if (!(nothing_back && reused)) passive_failure(x, cfg);
            count_upstream_error(x, ec == http::error::end_of_stream || ec == net::error::eof ||
                                            ec == net::error::connection_reset || ec == net::error::broken_pipe
                                        ? metrics::upstream_error::reset
                                        : metrics::upstream_error::protocol);
            if (decision == resend_decision::another_node) co_return attempt::retry_other;
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        const unsigned status = x.response->get().result_int();
        if (status >= 200) break;
        if (status == 101 || interim + 1 >= max_interim_responses) {
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            x.failure = "node " + node.name + " sent an unexpected " + std::to_string(status) + " response";
            count_upstream_error(x, metrics::upstream_error::protocol);
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        // Other interim answers (102, 103) are dropped: the final one follows on the same connection.
    }

    auto& response = *x.response;
    const unsigned status = response.get().result_int();
    x.upstream_status = status;
    x.upstream_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.upstream_sent).count();
    if (status == 503 && !response.is_done() && response.content_length() &&
        *response.content_length() <= max_inspected_503) {
        // NocoBase answers 503 "maintaining" before its app runs (a race with the health checks). Such a node
        // had no side effect, so the request may go to another node.
        std::string body;
        if (auto ec = co_await read_small_body(response, body, static_cast<std::size_t>(*response.content_length()))) {
            x.failure = "node " + node.name + " failed mid-response: " + ec.message();
            log::warning(describe(&x) + ": " + x.failure);
            count_upstream_error(x, timed_out_ ? metrics::upstream_error::timeout : metrics::upstream_error::reset);
            x.upstream_status = 0;
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        const auto starting = health::nocobase_maintaining(body);
        if (!starting.empty() && x.can_retry_elsewhere) {
            log::info(describe(&x) + ": " + node.name + " answered 503 " + starting + ", sending to another node");
            release_upstream(x, response.keep_alive(), cfg);
            x.failure = "node " + node.name + " is starting (" + starting + ")";
            x.upstream_status = 0;
            co_return attempt::retry_other;
        }
        x.prefetched_body = std::move(body);
    }
    if (status >= 500 && cfg.health_check.fail_on_5xx) passive_failure(x, cfg);
    else health::report_success(*node.status);
    co_return attempt::answered;
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

template <class Stream>
void client_session<Stream>::passive_failure(const exchange& x, const config::config& cfg) {
    const auto ejected = health::report_failure(*x.node->status, cfg.health_check, util::coarse_now_ms());
    if (ejected.count() > 0)
        log::warning(x.node->name + " ejected for " + std::to_string(ejected.count()) + " ms: " +
                     std::to_string(cfg.health_check.max_fails) + " consecutive failed requests (last: " + x.failure +
                     ")");
}

}  // namespace gatehouse::proxy::detail
