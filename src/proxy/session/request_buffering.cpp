// client_session: a request body read whole before a node is chosen (proxy.request_buffering), then sent from there.
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <cerrno>
#include <cstring>

namespace gatehouse::proxy::detail {

namespace {

std::string_view buffer_error_text(body_buffer_error e) {
    switch (e) {
    case body_buffer_error::none: return "no error";
    case body_buffer_error::too_large: return "too large";
    case body_buffer_error::file_create: return "cannot create a temporary file";
    case body_buffer_error::file_write: return "cannot write the temporary file";
    case body_buffer_error::file_read: return "cannot read the temporary file";
    }
    return "unknown";
}

}  // namespace

template <class Stream>
net::awaitable<bool> client_session<Stream>::buffer_request_body(exchange& x, const config::config& cfg) {
    x.buffered = std::make_unique<request_body_buffer>(static_cast<std::size_t>(cfg.limits.request_buffer_memory),
                                                       cfg.limits.request_buffer_dir, cfg.limits.max_request_body);
    if (x.expect_continue) {  // the client waits for this before it sends the body
        auto [ec, n] = co_await eager_write(stream_, net::buffer(continue_100));
        if (ec) co_return false;
    }
    std::string detail;
    const body_failure failure = co_await fill_body_buffer(x, cfg, detail);
    switch (failure) {
    case body_failure::none:
        count_received(x.buffered->size());
        co_return true;
    case body_failure::client_left:
        log::debug(describe(&x) + " left while sending its body: " + detail);
        break;
    case body_failure::timed_out:
        co_await answer_failure(x, failure_kind::client_body_timeout);
        break;
    case body_failure::framing_too_long:
    case body_failure::malformed:
        co_await answer_failure(x, failure_kind::malformed_body, detail);
        break;
    case body_failure::too_large:
        co_await answer_failure(x, failure_kind::body_too_large);
        break;
    case body_failure::not_stored:
        log::error(describe(&x) + ": cannot buffer the request body in " + cfg.limits.request_buffer_dir + ": " + detail);
        co_await answer_failure(x, failure_kind::body_not_buffered);
        break;
    }
    co_return false;
}

template <class Stream>
net::awaitable<body_failure> client_session<Stream>::fill_body_buffer(exchange& x, const config::config& cfg,
                                                                      std::string& detail) {
    auto& parser = x.request;
    parser.eager(true);
    auto piece = std::make_unique<char[]>(relay_piece);
    bool need_more = in_.size() == 0;
    bool first_read = true;
    while (!parser.is_done()) {
        if (need_more) {
            const auto failure = co_await read_body_bytes(cfg, std::exchange(first_read, false), detail);
            if (failure != body_failure::none) co_return failure;
        }
        parser.get().body().data = piece.get();
        parser.get().body().size = relay_piece;
        error_code ec;
        const std::size_t used = parser.put(in_.data(), ec);
        in_.consume(used);
        if (const std::size_t produced = relay_piece - parser.get().body().size; produced > 0) {
            if (const auto e = x.buffered->append(piece.get(), produced); e != body_buffer_error::none) {
                const int err = errno;
                if (e == body_buffer_error::too_large) co_return body_failure::too_large;
                detail = std::string(buffer_error_text(e)) + " (" + std::strerror(err) + ")";
                co_return body_failure::not_stored;
            }
        }
        if (ec == http::error::need_buffer) {
            need_more = false;
        } else if (ec == http::error::need_more) {
            need_more = true;
        } else if (ec) {
            detail = ec.message();
            co_return body_failure::malformed;
        } else {
            need_more = used == 0 || in_.size() == 0;
        }
    }
    co_return body_failure::none;
}

template <class Stream>
net::awaitable<body_failure> client_session<Stream>::read_body_bytes(const config::config& cfg, bool first,
                                                                     std::string& detail) {
    const std::size_t room = in_.max_size() - in_.size();
    if (room == 0) {  // a chunk-size line or trailer longer than buffer_limit
        detail = "chunk framing too long";
        co_return body_failure::framing_too_long;
    }
    set_body_deadline(cfg);
    // Later reads are asynchronous (as in relay_content_length): a fast upload read directly piece after piece
    // would never go back to the event loop and would hold up every other connection of the worker.
    const auto space = in_.prepare(std::min(room, relay_piece));
    error_code ec;
    std::size_t n = 0;
    if (first) std::tie(ec, n) = co_await read_some_unless_drained(stream_, space);
    else std::tie(ec, n) = co_await stream_.async_read_some(space, use_tuple);
    if (ec) {
        if (timed_out_) co_return body_failure::timed_out;
        detail = ec.message();
        co_return body_failure::client_left;
    }
    in_.commit(n);
    co_return body_failure::none;
}

template <class Stream>
net::awaitable<std::optional<attempt>> client_session<Stream>::send_buffered_body(exchange& x,
                                                                                  const config::config& cfg,
                                                                                  bool reused) {
    const auto& body = *x.buffered;
    std::unique_ptr<char[]> piece;
    error_code ec;
    for (std::uint64_t offset = 0; offset < body.size() && !ec;) {
        set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
        if (!body.in_file()) {
            std::tie(ec, std::ignore) = co_await eager_write(upstream_, net::buffer(body.memory()));
            offset = body.size();
            continue;
        }
        if (!piece) piece = std::make_unique<char[]>(relay_piece);
        std::size_t got = 0;
        if (const auto e = body.read(offset, piece.get(), relay_piece, got); e != body_buffer_error::none || got == 0) {
            const int err = errno;
            x.failure = "cannot read the buffered request body: " + std::string(buffer_error_text(e));
            log::error(describe(&x) + ": " + x.failure + " (" + std::strerror(err) + ")");
            close_upstream();
            co_await respond_error(client_status(failure_kind::body_not_buffered),
                                   failure_reason(failure_kind::body_not_buffered, {}, {}), &x);
            co_return attempt::failed;
        }
        // The first piece goes out directly; later ones through the event loop, so a large body read from a fast
        // disk and taken by a fast node does not hold up the worker's other connections.
        if (offset == 0) std::tie(ec, std::ignore) = co_await eager_write(upstream_, net::buffer(piece.get(), got));
        else std::tie(ec, std::ignore) = co_await net::async_write(upstream_, net::buffer(piece.get(), got), use_tuple);
        offset += got;
    }
    if (!ec) co_return std::nullopt;
    if (timed_out_) co_return co_await fail_attempt(x, cfg, failure_kind::body_send_timeout, {}, {});
    // The head is written: from here on the node may have seen the request, so only an idempotent one may go again
    // (on a fresh connection when this one was pooled: most likely one the node had closed).
    const bool idempotent = is_idempotent(x.request.get().method());
    const attempt_facts facts{.idempotent = idempotent, .body_held = true, .reused = reused,
                              .bytes_written = out_.size()};
    co_return co_await fail_attempt(x, cfg, failure_kind::body_send_failed, ec.message(), facts, {.log = idempotent});
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template net::awaitable<bool> client_session<S>::buffer_request_body(exchange&, const config::config&);       \
    template net::awaitable<body_failure> client_session<S>::fill_body_buffer(exchange&, const config::config&,   \
                                                                              std::string&);                      \
    template net::awaitable<body_failure> client_session<S>::read_body_bytes(const config::config&, bool,         \
                                                                             std::string&);                       \
    template net::awaitable<std::optional<attempt>> client_session<S>::send_buffered_body(                        \
        exchange&, const config::config&, bool);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
