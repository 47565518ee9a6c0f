// client_session: sending the node's response to the client.
#pragma once

#include "client_session.hpp"

namespace gatehouse::proxy::detail {

template <class Stream>
net::awaitable<error_code> client_session<Stream>::read_held_body(std::size_t length, config::duration idle) {
    while (up_in_.size() < length) {
        set_deadline(phase::response_body, idle);  // the node may pause this long between pieces
        auto [ec, n] = co_await read_some_unless_drained(upstream_, up_in_.prepare(length - up_in_.size()));
        if (ec == net::error::eof) co_return make_error_code(http::error::partial_message);
        if (ec) co_return ec;
        up_in_.commit(n);
    }
    co_return error_code{};
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::relay_response(exchange& x, const config::config& cfg) {
    auto& parser = *x.response;
    const auto& head = parser.get();
    const unsigned status = head.result_int();
    const bool head_request = x.request.get().method() == http::verb::head;
    const bool client_http10 = x.request.get().version() < 11;
    const bool bodiless = head_request || status == 204 || status == 304;

    response_head_options options;
    options.client_http10 = client_http10;
    options.request_id = x.request_id;
    bool reusable = parser.keep_alive();
    if (bodiless) {
        // HEAD and 304 answers may state the length of the body they do not carry; keep it.
        if (head_request || status == 304) {
            if (const auto cl = parse_length(head[http::field::content_length])) {
                options.framing = response_framing::content_length;
                options.content_length = *cl;
            }
        }
    } else if (const auto cl = parser.content_length()) {
        options.framing = response_framing::content_length;
        options.content_length = *cl;
    } else {
        options.framing = client_http10 ? response_framing::close_delimited : response_framing::chunked;
        if (!parser.chunked()) reusable = false;  // delimited by the node closing
    }
    options.keep_alive = x.keep_alive && !owner_.draining() && options.framing != response_framing::close_delimited;

    out_.clear();
    write_client_response_head(out_, head, options);
    x.status = status;

    // Waiting on the node: upstream_response. Waiting for the client to take bytes: client_idle, so a client that
    // stops reading does not hold the node's connection for upstream_response.
    const auto progress = [this, &cfg](relay_wait wait) {
        set_deadline(phase::response_body,
                     wait == relay_wait::read ? cfg.timeouts.upstream_response : cfg.timeouts.client_idle);
    };
    progress(relay_wait::write);
    relay_result r;
    if (x.prefetched_body) {
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(*x.prefetched_body)};
        auto [ec, n] = co_await eager_write(stream_, pieces);
        r.ec = ec;
        if (ec) r.failed = relay_side::destination;
    } else if (bodiless || (options.framing == response_framing::content_length && options.content_length == 0)) {
        auto [ec, n] = co_await eager_write(stream_, net::buffer(out_));
        r.ec = ec;
        if (ec) r.failed = relay_side::destination;
    } else if (options.framing == response_framing::content_length && options.content_length <= response_hold_limit) {
        // A body this small is read whole before anything goes to the client (like Nginx's proxy buffering): the
        // node's connection goes back to the pool at once, so a slow client never holds it, and a node that fails
        // mid-body still gets the client a clean 502.
        const auto length = static_cast<std::size_t>(options.content_length);
        error_code failure;  // the whole body usually came with the head: no read, no coroutine frame
        if (up_in_.size() < length) failure = co_await read_held_body(length, cfg.timeouts.upstream_response);
        if (failure) {
            x.failure = "node " + x.node->name + " failed mid-response: " + (timed_out_ ? "timed out" : failure.message());
            count_upstream_error(x, timed_out_ ? metrics::upstream_error::timeout : metrics::upstream_error::reset);
            release_upstream(x, false, cfg);
            co_await respond_error(timed_out_ ? http::status::gateway_timeout : http::status::bad_gateway, x.failure, &x);
            co_return false;
        }
        beast::flat_buffer held;  // takes the body so up_in_ is empty when the connection goes back to the pool
        std::swap(up_in_, held);
        release_upstream(x, reusable && held.size() == length, cfg);  // more than the body: not reusable
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(held.data().data(), length)};
        progress(relay_wait::write);  // the client gets as long to take the answer as on the streamed path
        auto [ec, n] = co_await eager_write(stream_, pieces);
        std::swap(up_in_, held);  // back in up_in_ (a large one is given back below, when the exchange ends)
        up_in_.clear();
        up_in_.max_size(buffer_limit);
        r.ec = ec;
        if (ec) {
            r.failed = relay_side::destination;
            r.bytes = n > out_.size() ? n - out_.size() : 0;
        } else {
            r.bytes = length;
        }
    } else if (options.framing == response_framing::content_length) {
        // Head and the body bytes already read go out in one write.
        const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(up_in_.size(), options.content_length));
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(up_in_.data().data(), first)};
        auto [ec, n] = co_await eager_write(stream_, pieces);
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::destination;
        } else {
            up_in_.consume(first);
            r = co_await relay_content_length(upstream_, up_in_, stream_, options.content_length - first, progress);
            r.bytes += first;
        }
    } else {
        auto [ec, n] = co_await eager_write(stream_, net::buffer(out_));
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::destination;
        } else {
            r = co_await relay_parsed_body(upstream_, up_in_, parser, stream_,
                                           client_http10 ? relay_output::raw : relay_output::chunked, 0, progress);
        }
    }

    x.body_bytes_sent = x.prefetched_body ? x.prefetched_body->size() : r.bytes;
    x.sent_bytes = out_.size() + x.body_bytes_sent;
    if (r.failed != relay_side::none) {
        if (r.failed == relay_side::source)
            count_upstream_error(x, timed_out_ ? metrics::upstream_error::timeout : metrics::upstream_error::reset);
        if (r.failed == relay_side::source)
            log::warning(describe(&x) + ": node " + x.node->name + " failed mid-response: " +
                         (timed_out_ ? std::string("timed out") : r.ec.message()));
        release_upstream(x, false, cfg);
        co_return false;  // the client saw part of an answer: only closing tells it the answer is incomplete
    }
    release_upstream(x, reusable, cfg);
    // A large body grew up_in_ (up to a 64 KiB piece): give that back now, like Nginx frees its proxy buffers with
    // the request, so a thousand connections between large answers do not each keep 64 KiB.
    if (up_in_.size() == 0 && up_in_.capacity() > upstream_read_reserve) up_in_.shrink_to_fit();
    co_return options.keep_alive;
}

}  // namespace gatehouse::proxy::detail
