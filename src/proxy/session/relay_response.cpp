// client_session: the node's response to the client: response_filter shapes the head, then the body is sent
// whole (small or already read) or streamed.
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/field_lists.hpp>
#include <gatehouse/proxy/gzip_encoder.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <array>
#include <charconv>

namespace gatehouse::proxy::detail {

namespace {

std::optional<std::uint64_t> parse_length(std::string_view text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

/// A failed write of the head (and body bytes) to the client.
relay_result client_write(const error_code& ec) {
    relay_result r;
    r.ec = ec;
    if (ec) r.failed = relay_side::destination;
    return r;
}

/// A body written with the head in one write: as it is, or (with an encoder) gzipped whole and framed for the
/// client (one chunk and the last-chunk, or close-delimited).
class whole_body {
public:
    /// False when zlib failed (out of memory).
    bool prepare(std::string_view body, gzip_encoder* encoder, bool chunked) {
        payload_ = body;
        if (!encoder) return true;
        if (!encoder->compress(body, gzip_flush::finish, packed_)) return false;
        payload_ = packed_;
        if (chunked) {
            auto [end, ec] = std::to_chars(size_line_.data(), size_line_.data() + 16, payload_.size(), 16);
            (void)ec;
            *end++ = '\r';
            *end++ = '\n';
            size_length_ = static_cast<std::size_t>(end - size_line_.data());
            last_chunk_ = "\r\n0\r\n\r\n";
        }
        return true;
    }
    std::array<net::const_buffer, 4> pieces(const std::string& head) const {
        return {net::buffer(head), net::buffer(size_line_.data(), size_length_),
                net::buffer(payload_.data(), payload_.size()), net::buffer(last_chunk_.data(), last_chunk_.size())};
    }
    /// Body bytes (framing excluded) that reached the client when a write of `written` bytes ended with `ec`.
    std::uint64_t bytes_written(const error_code& ec, std::size_t written, std::size_t head) const {
        if (!ec) return payload_.size();
        const std::size_t before = head + size_length_;
        return std::min(written > before ? written - before : 0, payload_.size());
    }

private:
    std::string packed_;
    std::string_view payload_;
    std::array<char, 24> size_line_{};
    std::size_t size_length_ = 0;
    std::string_view last_chunk_;
};

}  // namespace

template <class Stream>
response_head_options client_session<Stream>::response_filter(const exchange& x, bool& reusable) const {
    const auto& parser = *x.response;
    const auto& head = parser.get();
    const unsigned status = head.result_int();
    const bool head_request = x.request.get().method() == http::verb::head;
    response_head_options options;
    options.client_http10 = x.request.get().version() < 11;
    options.request_id = x.request_id;
    if constexpr (is_tls) options.strict_transport_security = x.nodes->config->tls.hsts;
    if (head_request || status == 204 || status == 304) {
        // HEAD and 304 answers may state the length of the body they do not carry; keep it.
        if (head_request || status == 304) {
            if (const auto cl = parse_length(first_value(head, http::field::content_length))) {
                options.framing = response_framing::content_length;
                options.content_length = *cl;
            }
        }
    } else if (const auto cl = parser.content_length()) {
        options.framing = response_framing::content_length;
        options.content_length = *cl;
    } else {
        options.framing = options.client_http10 ? response_framing::close_delimited : response_framing::chunked;
        if (!parser.chunked()) reusable = false;  // delimited by the node closing
    }
    options.keep_alive = x.keep_alive && !host_.draining() && options.framing != response_framing::close_delimited;
    return options;
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::relay_response(exchange& x, const config::config& cfg) {
    auto& parser = *x.response;
    const unsigned status = parser.get().result_int();
    const bool bodiless = x.request.get().method() == http::verb::head || status == 204 || status == 304;
    bool reusable = parser.keep_alive();
    response_head_options options = response_filter(x, reusable);
    // The zlib state lives as long as this exchange's answer, and only when it is compressed.
    const std::unique_ptr<gzip_encoder> encoder = compression_filter(x, cfg, bodiless, options);
    out_.clear();
    write_client_response_head(out_, parser.get(), options);
    x.status = status;
    set_deadline(phase::response_body, cfg.timeouts.client_idle);  // waiting for the client to take bytes

    const auto node_length = parser.content_length();  // none when chunked or delimited by the node closing
    std::optional<std::string_view> whole;             // a body sent with the head, in one write
    beast::flat_buffer held;
    bool holding = false;
    if (x.prefetched_body) {
        whole = *x.prefetched_body;
    } else if (bodiless || (node_length && *node_length == 0)) {
        whole = std::string_view{};
    } else if (node_length && *node_length <= response_hold_limit) {
        // A body this small is read whole before anything goes to the client (like Nginx's proxy buffering): the
        // node's connection goes back to the pool at once, so a slow client never holds it, and a node that fails
        // mid-body still gets the client a clean 502. It usually came with the head: no read, no coroutine frame.
        const auto length = static_cast<std::size_t>(*node_length);
        if (up_in_.size() < length) {  // (GCC 12: no co_await inside && or ||)
            if (!co_await read_held_response(x, cfg, length)) co_return false;  // answered 502/504
        }
        held = take_held_response(x, cfg, length, reusable);
        holding = true;
        whole = std::string_view(static_cast<const char*>(held.data().data()), length);
        set_deadline(phase::response_body, cfg.timeouts.client_idle);  // as long to take it as when streamed
    }
    relay_result r;
    if (whole) {
        whole_body body;
        if (body.prepare(*whole, encoder.get(), options.framing == response_framing::chunked)) {
            auto [ec, n] = co_await eager_write(stream_, body.pieces(out_));
            r = client_write(ec);
            r.bytes = body.bytes_written(ec, n, out_.size());
        } else {
            r = client_write(make_error_code(std::errc::not_enough_memory));
        }
        if (holding) give_back_held_response(held);
    } else if (encoder) {
        r = co_await relay_compressed_response(x, cfg, options, *encoder);
    } else {
        r = co_await relay_streamed_response(x, cfg, options);
    }
    if (encoder) count_compression(*encoder);

    x.body_bytes_sent = r.bytes;
    x.sent_bytes = out_.size() + x.body_bytes_sent;
    co_return relay_ended(x, cfg, r, reusable) && options.keep_alive;
}

template <class Stream>
bool client_session<Stream>::relay_ended(exchange& x, const config::config& cfg, const relay_result& r, bool reusable) {
    if (r.failed != relay_side::none) {
        response_failed(x, cfg, r);
        return false;  // the client saw part of an answer: only closing tells it the answer is incomplete
    }
    release_upstream(x, reusable, cfg);
    // A large body grew up_in_ (up to a 64 KiB piece): give that back now, like Nginx frees its proxy buffers with
    // the request, so a thousand connections between large answers do not each keep 64 KiB.
    if (up_in_.size() == 0 && up_in_.capacity() > upstream_read_reserve) up_in_.shrink_to_fit();
    return true;
}

template <class Stream>
net::awaitable<relay_result> client_session<Stream>::relay_streamed_response(exchange& x, const config::config& cfg,
                                                                             const response_head_options& options) {
    // Waiting on the node: upstream_response. Waiting for the client to take bytes: client_idle, so a client that
    // stops reading does not hold the node's connection for upstream_response.
    const auto progress = [this, &cfg](relay_wait wait) { response_progress(cfg, wait); };
    if (options.framing == response_framing::content_length) {
        // Head and the body bytes already read go out in one write.
        const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(up_in_.size(), options.content_length));
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(up_in_.data().data(), first)};
        auto [ec, n] = co_await eager_write(stream_, pieces);
        relay_result r = client_write(ec);
        if (r.failed != relay_side::none) co_return r;
        up_in_.consume(first);
        r = co_await relay_content_length(upstream_, up_in_, stream_, options.content_length - first, progress);
        r.bytes += first;
        co_return r;
    }
    auto [ec, n] = co_await eager_write(stream_, net::buffer(out_));
    const relay_result r = client_write(ec);
    if (r.failed != relay_side::none) co_return r;
    co_return co_await relay_parsed_body(upstream_, up_in_, *x.response, stream_,
                                         options.client_http10 ? relay_output::raw : relay_output::chunked, 0,
                                         progress);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::read_held_response(exchange& x, const config::config& cfg,
                                                                std::size_t length) {
    const error_code failure = co_await read_held_body(length, cfg.timeouts.upstream_response);
    if (!failure) co_return true;
    const auto kind = timed_out_ ? failure_kind::response_body_timeout : failure_kind::reset_mid_response;
    record_failure(x, cfg, kind, failure.message(), {.log = false});
    release_upstream(x, false, cfg);
    co_await respond_error(client_status(kind), x.failure, &x);
    co_return false;
}

template <class Stream>
beast::flat_buffer client_session<Stream>::take_held_response(const exchange& x, const config::config& cfg,
                                                              std::size_t length, bool reusable) {
    beast::flat_buffer held;  // takes the body so up_in_ is empty when the connection goes back to the pool
    std::swap(up_in_, held);
    release_upstream(x, reusable && held.size() == length, cfg);  // more than the body: not reusable
    return held;
}

template <class Stream>
void client_session<Stream>::give_back_held_response(beast::flat_buffer& held) {
    std::swap(up_in_, held);  // back in up_in_ (a large one is given back when the exchange ends)
    up_in_.clear();
    up_in_.max_size(buffer_limit);
}

template <class Stream>
void client_session<Stream>::response_failed(exchange& x, const config::config& cfg, const relay_result& r) {
    if (r.failed == relay_side::source) {
        const auto kind = timed_out_ ? failure_kind::response_body_timeout : failure_kind::reset_mid_response;
        record_failure(x, cfg, kind, r.ec.message());
    }
    release_upstream(x, false, cfg);
}

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

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template response_head_options client_session<S>::response_filter(const exchange&, bool&) const;              \
    template net::awaitable<bool> client_session<S>::relay_response(exchange&, const config::config&);            \
    template net::awaitable<relay_result> client_session<S>::relay_streamed_response(                             \
        exchange&, const config::config&, const response_head_options&);                                          \
    template net::awaitable<bool> client_session<S>::read_held_response(exchange&, const config::config&,         \
                                                                        std::size_t);                             \
    template beast::flat_buffer client_session<S>::take_held_response(const exchange&, const config::config&,     \
                                                                      std::size_t, bool);                         \
    template void client_session<S>::give_back_held_response(beast::flat_buffer&);                               \
    template bool client_session<S>::relay_ended(exchange&, const config::config&, const relay_result&, bool);     \
    template void client_session<S>::response_failed(exchange&, const config::config&, const relay_result&);      \
    template net::awaitable<error_code> client_session<S>::read_held_body(std::size_t, config::duration);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
