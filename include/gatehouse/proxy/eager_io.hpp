// Reading and writing without a pass through the event loop when the kernel has the bytes or takes them at once.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/tls_stream.hpp>
#include <gatehouse/proxy/tls_write.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include <cstdint>
#include <tuple>
#include <type_traits>

namespace gatehouse::proxy {

/// Writes all of `buffers` to `stream`, like net::async_write.
///
/// An asynchronous operation that completes at once still queues its completion behind every handler already
/// waiting in the event loop, so each write of a proxied exchange would cost a pass through the loop: more
/// handler dispatches per request and, under load, a longer wait for every request. On a plain TCP socket in
/// non-blocking mode (client and node sockets are put in that mode when they are opened) this first writes
/// directly; only what the kernel does not take at once (a full send buffer) is left to an asynchronous write.
/// The TLS client stream writes the same way through OpenSSL (tls_write.hpp), gathering small buffers into one
/// record.
template <class Stream, class ConstBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> eager_write(Stream& stream, const ConstBufferSequence& buffers) {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
        if (stream.non_blocking()) {
            beast::buffers_suffix<ConstBufferSequence> rest(buffers);
            std::size_t written = 0;
            for (;;) {
                if (net::buffer_size(rest) == 0) co_return std::tuple{error_code{}, written};
                error_code ec;
                const std::size_t n = stream.write_some(rest, ec);
                if (ec == net::error::would_block || ec == net::error::try_again) break;
                if (ec) co_return std::tuple{ec, written};
                rest.consume(n);
                written += n;
            }
            auto [ec, n] = co_await net::async_write(stream, rest, use_tuple);
            co_return std::tuple{ec, written + n};
        }
    } else if constexpr (is_tls_stream<Stream>) {
        co_return co_await write_tls(stream, buffers);  // a record per piece of up to 16 KiB, not per buffer
    }
    co_return co_await net::async_write(stream, buffers, use_tuple);
}

/// Reads some bytes into `buffer`, like stream.async_read_some, with the fewest system calls (plain TCP sockets in
/// non-blocking mode; other streams, TLS, take the asynchronous read as it is):
/// - when the last read of this socket emptied it and no readiness event has come since (read_drain.hpp), bytes
///   cannot be there: the read waits for the event, without Asio's read attempt that would fail with EAGAIN;
/// - otherwise it reads directly: bytes that are there are taken without a pass through the event loop, and an
///   empty socket costs the one attempt Asio would have made anyway.
/// A read that returns less than it asked for emptied the socket, and says so for the next read.
/// With the mark off (read_drain_enabled() false: the start-up self-test failed, or a build without it) this is
/// the plain asynchronous read.
///
/// Why marking is safe at both places below (read_drain.hpp's rule): the direct read is ours, and the mark follows
/// it at once. After an asynchronous read, the mark is set only if the socket was marked drained when the read
/// started: then Asio did not attempt it on the spot (that attempt's completion would be queued behind the loop,
/// which could take an event before the mark); it was performed when the readiness event was handled, and Asio
/// calls its completion, which resumes this coroutine, from that same handling (the read is the socket's only
/// operation: a session never reads and writes one socket at once). So no event can be taken between the read
/// and the mark. (mark_drained can refuse, e.g. when the socket's reactor state still holds the close event of
/// the connection that used it before; the read then goes Asio's usual way and leaves no mark.)
template <class Stream, class MutableBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> read_some_unless_drained(Stream& stream,
                                                                             const MutableBufferSequence& buffer) {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
        if (stream.non_blocking() && read_drain_enabled()) {
            const std::size_t wanted = net::buffer_size(buffer);
            if (!known_drained(stream)) {
                error_code ec;
                const std::size_t n = stream.read_some(buffer, ec);
                if (ec != net::error::would_block && ec != net::error::try_again) {
                    if (!ec && n < wanted) mark_drained(stream);
                    co_return std::tuple{ec, n};
                }
                mark_drained(stream);
            }
            const bool queued_without_attempt = known_drained(stream);
            auto [ec, n] = co_await stream.async_read_some(buffer, use_tuple);
            if (!ec && n < wanted && queued_without_attempt) mark_drained(stream);
            co_return std::tuple{ec, n};
        }
    } else if constexpr (is_tls_stream<Stream>) {
        // Direct TLS: bytes OpenSSL holds or the socket has are taken without a pass through the event loop.
        error_code ec;
        const std::size_t n = stream.read_now(*net::buffer_sequence_begin(buffer), ec);
        if (ec != net::error::would_block) co_return std::tuple{ec, n};
    }
    co_return co_await stream.async_read_some(buffer, use_tuple);
}

/// A node connection: a plain one takes the fast paths above on its socket; a TLS one the asynchronous read and
/// write through TLS (OpenSSL may hold bytes the socket's readiness knows nothing of, so no read skips its attempt).
template <class ConstBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> eager_write(upstream::node_stream& stream,
                                                                const ConstBufferSequence& buffers) {
    if (!stream.is_tls()) co_return co_await eager_write(stream.socket(), buffers);
    co_return co_await net::async_write(*stream.tls(), buffers, use_tuple);
}

template <class MutableBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> read_some_unless_drained(upstream::node_stream& stream,
                                                                             const MutableBufferSequence& buffer) {
    if (!stream.is_tls()) co_return co_await read_some_unless_drained(stream.socket(), buffer);
    co_return co_await stream.async_read_some(buffer, use_tuple);
}

}  // namespace gatehouse::proxy
