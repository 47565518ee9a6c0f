// Streaming a message body from one connection to another through a bounded buffer, never holding it whole.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/eager_io.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

namespace gatehouse::proxy {

/// Largest piece read from one side before it is written to the other.
inline constexpr std::size_t relay_piece = 64 * 1024;

enum class relay_side { none, source, destination };

/// What a relay is about to wait for when it calls `progress`: a read from the source or a write to the
/// destination. The caller sets the deadline that fits each side (a node slow to send, a client slow to take).
enum class relay_wait { read, write };

namespace detail {
/// Calls progress(wait), or progress() for a callback that does not care which side is waited on.
template <class Progress>
void report_progress(Progress& progress, relay_wait wait) {
    if constexpr (std::is_invocable_v<Progress&, relay_wait>) progress(wait);
    else progress();
}
}  // namespace detail

struct relay_result {
    error_code ec;
    relay_side failed = relay_side::none;  ///< which connection the error came from
    std::uint64_t bytes = 0;               ///< body bytes written to the destination
    bool too_large = false;                ///< stopped because the body passed `max_body`
};

/// Copies exactly `remaining` body bytes: first what `buffered` already holds, then straight from `source`.
/// Never reads past the body, so a pipelined next message stays in `buffered`. `progress(relay_wait)` is called
/// before each wait so the caller can push its inactivity deadline. The first read is read_some_unless_drained (the rest of a
/// node's body is usually there right after its head). Later reads are asynchronous: with direct reads and direct
/// writes both finding their bytes, a large fast transfer would never go back to the event loop and would hold up
/// every other connection of the worker.
template <class Source, class Destination, class Progress>
net::awaitable<relay_result> relay_content_length(Source& source, beast::flat_buffer& buffered, Destination& destination,
                                                  std::uint64_t remaining, Progress progress) {
    relay_result r;
    while (remaining > 0) {
        if (buffered.size() == 0) {
            detail::report_progress(progress, relay_wait::read);
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, relay_piece));
            error_code ec;
            std::size_t n = 0;
            if (r.bytes == 0)
                std::tie(ec, n) = co_await read_some_unless_drained(source, buffered.prepare(want));
            else
                std::tie(ec, n) = co_await source.async_read_some(buffered.prepare(want), use_tuple);
            if (ec) {
                r.ec = ec == net::error::eof ? make_error_code(http::error::partial_message) : ec;
                r.failed = relay_side::source;
                co_return r;
            }
            buffered.commit(n);
        }
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffered.size()));
        detail::report_progress(progress, relay_wait::write);
        auto [ec, n] = co_await eager_write(destination, net::buffer(buffered.data().data(), take));
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::destination;
            co_return r;
        }
        buffered.consume(take);
        remaining -= take;
        r.bytes += take;
    }
    co_return r;
}

/// How a parsed (chunked or close-delimited) body is written out.
enum class relay_output { chunked, raw };

/// Writes one non-empty piece of a body: as a chunk, or as it is.
template <class Destination>
net::awaitable<error_code> write_body_piece(Destination& destination, std::string_view data, relay_output output) {
    if (output == relay_output::raw) {
        auto [ec, n] = co_await eager_write(destination, net::buffer(data.data(), data.size()));
        co_return ec;
    }
    std::array<char, 20> size_line;
    auto [end, cec] = std::to_chars(size_line.data(), size_line.data() + 16, data.size(), 16);
    (void)cec;
    *end++ = '\r';
    *end++ = '\n';
    const std::array<net::const_buffer, 3> pieces{
        net::buffer(size_line.data(), static_cast<std::size_t>(end - size_line.data())),
        net::buffer(data.data(), data.size()), net::buffer("\r\n", 2)};
    auto [ec, n] = co_await eager_write(destination, pieces);
    co_return ec;
}

/// Ends a body written as `output`: the last-chunk of a chunked one (no trailers), nothing for a raw one.
template <class Destination>
net::awaitable<error_code> end_body(Destination& destination, relay_output output) {
    if (output == relay_output::raw) co_return error_code{};
    auto [ec, n] = co_await eager_write(destination, net::buffer("0\r\n\r\n", 5));
    co_return ec;
}

/// Reads the next piece of `parser`'s body (its head already read) into `piece` (relay_piece bytes): the source's
/// error, or how many body bytes it produced (0 when only framing was consumed).
template <class Source, class Parser>
net::awaitable<std::pair<error_code, std::size_t>> read_body_piece(Source& source, beast::flat_buffer& buffered,
                                                                   Parser& parser, char* piece) {
    parser.get().body().data = piece;
    parser.get().body().size = relay_piece;
    auto [ec, n] = co_await http::async_read_some(source, buffered, parser, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    co_return std::pair<error_code, std::size_t>{ec, relay_piece - parser.get().body().size};
}

/// Relays the body of `parser` (its head already read) from `source` to `destination`, re-framed as `output`:
/// chunk extensions and trailers are dropped; a chunked output ends with the last-chunk. `max_body` = 0: no limit.
template <class Source, class Parser, class Destination, class Progress>
net::awaitable<relay_result> relay_parsed_body(Source& source, beast::flat_buffer& buffered, Parser& parser,
                                               Destination& destination, relay_output output, std::uint64_t max_body,
                                               Progress progress) {
    relay_result r;
    auto piece = std::make_unique<char[]>(relay_piece);
    while (!parser.is_done()) {
        detail::report_progress(progress, relay_wait::read);
        auto [ec, produced] = co_await read_body_piece(source, buffered, parser, piece.get());
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::source;
            co_return r;
        }
        if (produced == 0) continue;  // only framing was consumed; writing an empty piece would end the chunked body
        r.bytes += produced;
        if (max_body != 0 && r.bytes > max_body) {
            r.too_large = true;
            r.failed = relay_side::source;
            co_return r;
        }
        detail::report_progress(progress, relay_wait::write);
        if (const error_code wec = co_await write_body_piece(destination, std::string_view(piece.get(), produced), output)) {
            r.ec = wec;
            r.failed = relay_side::destination;
            co_return r;
        }
    }
    if (output == relay_output::chunked) detail::report_progress(progress, relay_wait::write);
    if (const error_code ec = co_await end_body(destination, output)) r = relay_result{ec, relay_side::destination, r.bytes};
    co_return r;
}

}  // namespace gatehouse::proxy
