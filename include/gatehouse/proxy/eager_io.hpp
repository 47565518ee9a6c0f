// Reading and writing without a pass through the event loop when the kernel has the bytes or takes them at once.
#pragma once

#include <gatehouse/net.hpp>

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
/// Other streams (TLS) take the asynchronous path.
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
    }
    co_return co_await net::async_write(stream, buffers, use_tuple);
}

/// Reads some bytes into `buffer`, like stream.async_read_some. On a plain TCP socket in non-blocking mode it first
/// reads directly (`was_ready` tells whether that found bytes): when the bytes are there, the coroutine goes on
/// without queueing behind the event loop. When they are not, it waits with an asynchronous read, and the direct
/// try was one system call for nothing; read_readiness_guess decides when trying is worth it.
template <class Stream, class MutableBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> eager_read_some(Stream& stream, const MutableBufferSequence& buffer,
                                                                    bool& was_ready) {
    was_ready = false;
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
        if (stream.non_blocking()) {
            error_code ec;
            const std::size_t n = stream.read_some(buffer, ec);
            if (ec != net::error::would_block && ec != net::error::try_again) {
                was_ready = true;
                co_return std::tuple{ec, n};
            }
        }
    }
    co_return co_await stream.async_read_some(buffer, use_tuple);
}

/// Learns, for one connection, whether bytes are usually there already when a read starts (the rest of a node's
/// body right after its head, say: usually yes on a fast link; a slow or far node: no).
///
/// A direct read costs one system call when the bytes are there and three when they are not (the direct try, the
/// asynchronous read's speculative try, the read once ready); a plain asynchronous read costs two (a failed
/// speculative try, the read once ready) and a pass through the event loop. So trying pays when more than half of
/// the tries find bytes. The share is a moving average over about the last eight tries; below one half, one read
/// in eight still tries, to notice when that changes.
///
/// Reads that wait for a peer to act (the client's next request, the node's answer) do not try: yielding to the
/// loop first and reading then finds the bytes under load, but puts those sessions ahead of the ones waiting for
/// the kernel's readiness events (Asio takes at most 128 per pass), which doubled p99 at 1,000 connections.
class read_readiness_guess {
public:
    bool worth_trying() noexcept { return ready_share_ >= half || ++skipped_ % 8 == 0; }
    void record(bool ready) noexcept {
        ready_share_ = static_cast<std::uint16_t>(ready_share_ - ready_share_ / 8 + (ready ? one / 8 : 0));
    }

private:
    static constexpr std::uint16_t one = 1024;
    static constexpr std::uint16_t half = one / 2;
    std::uint16_t ready_share_ = half;  // of `one`
    std::uint8_t skipped_ = 0;
};

/// A read that tries eager_read_some while `guess` says that pays and records what it found; otherwise a plain
/// asynchronous read.
template <class Stream, class MutableBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> guessed_read_some(Stream& stream, const MutableBufferSequence& buffer,
                                                                      read_readiness_guess& guess) {
    if (!guess.worth_trying()) co_return co_await stream.async_read_some(buffer, use_tuple);
    bool was_ready = false;
    auto result = co_await eager_read_some(stream, buffer, was_ready);
    guess.record(was_ready);
    co_return result;
}

}  // namespace gatehouse::proxy
