// Relaying a tunnel's bytes one way, with a small buffer taken only while bytes are there.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/tls_stream.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>

namespace gatehouse::proxy {

/// Largest piece read from one side of a tunnel before it is written to the other (HAProxy's bufsize).
inline constexpr std::size_t tunnel_piece = 16 * 1024;

/// How one direction of a tunnel ended.
enum class pump_end : std::uint8_t {
    source_closed,       ///< the source sent its FIN: passed on (the destination's sending side is shut down)
    source_failed,       ///< reading from the source failed (reset, or the wait was cancelled: a timeout, a stop)
    destination_failed,  ///< writing to the destination failed
};

struct pump_result {
    pump_end end = pump_end::source_closed;
    error_code ec;
    std::uint64_t bytes = 0;  ///< written to the destination
};

/// What pump_bytes needs of each side beyond tls_stream.hpp's socket_of and holds_input: a plain TCP socket, the
/// client's TLS stream (read through OpenSSL asynchronously, see detail::read_piece_async), or a node connection
/// (plain or TLS, read through node_stream::read_now).
inline tcp::socket& socket_of(upstream::node_stream& s) noexcept { return s.socket(); }
inline bool holds_input(upstream::node_stream&) noexcept { return false; }  // a TLS node is read again instead
inline bool reads_through_tls(const tcp::socket&) noexcept { return false; }
inline bool reads_through_tls(const tls_stream&) noexcept { return false; }  // holds_input tells instead
inline bool reads_through_tls(const upstream::node_stream& s) noexcept { return s.is_tls(); }
inline void shutdown_send(tcp::socket& s) noexcept {
    error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
}
inline void shutdown_send(upstream::node_stream& s) noexcept {
    error_code ignored;
    s.shutdown_send(ignored);
}

namespace detail {

/// One read from a tunnel's source into `piece`, after it became readable: direct on a plain socket (the bytes are
/// there), non-blocking through OpenSSL on a TLS node (would_block: TLS needs the socket).
inline std::tuple<error_code, std::size_t> read_piece(tcp::socket& from, char* piece) {
    error_code ec;
    const std::size_t n = from.read_some(net::buffer(piece, tunnel_piece), ec);
    return {ec, n};
}
inline std::tuple<error_code, std::size_t> read_piece(upstream::node_stream& from, char* piece) {
    error_code ec;
    const std::size_t n = from.read_now(net::buffer(piece, tunnel_piece), ec);
    return {ec, n};
}
/// Through the client's TLS stream: a record may still be incomplete, then it waits for the rest.
inline net::awaitable<std::tuple<error_code, std::size_t>> read_piece_async(tls_stream& from, char* piece) {
    auto [ec, n] = co_await from.async_read_some(net::buffer(piece, tunnel_piece), use_tuple);
    // A TLS peer closing without close_notify is the end of its bytes all the same (a WebSocket has its own
    // close frames); a close_notify reads as eof.
    if (ec == net::ssl::error::stream_truncated) ec = net::error::eof;
    co_return std::tuple{ec, n};
}

}  // namespace detail

/// Copies bytes from `from` to `to` until `from` closes or either side fails, never holding a message whole:
/// - it waits for readability on the bare socket before taking a buffer, so a quiet direction holds none (an
///   idle tunnel costs its sockets and coroutine frames); the piece is given back whenever a read emptied the socket;
/// - each piece is written (eager_write) before the next read, so a side that does not read stops the other
///   (its kernel buffers fill) instead of gatehouse's memory growing;
/// - a FIN from `from` is passed on as a shutdown of `to`'s sending side (half-close; not on a TLS client `to`, see
///   below), and ends this direction only.
/// The client side may be a TLS stream (wss): its decrypted bytes are read through OpenSSL, and what OpenSSL already
/// holds is read without waiting for the socket. Through a TLS node (an https:// node) the socket's readiness does not
/// tell everything either: after a read that returned bytes the next read comes without waiting (after a pass through
/// the event loop), and only a read that finds nothing (would_block: TLS needs the socket) waits for readability.
/// Both sockets must be in non-blocking mode (client and node sockets are). `watch` is told of progress:
/// `watch.writing()` before a write (that may wait on a side that does not read), `watch.moved(piece)` after the bytes
/// of `piece` (one read's worth) went through, and `watch.ended(result)` once, when this direction ends.
template <class From, class To, class Watch>
net::awaitable<pump_result> pump_bytes(From& from, To& to, Watch watch) {
    pump_result r;
    std::unique_ptr<char[]> piece;
    bool read_first = reads_through_tls(from);  // TLS may hold bytes that came with the last read or the upgrade
    for (;;) {
        // Waiting for readability re-arms the socket (EPOLL_CTL_MOD re-checks it), so bytes that came before
        // the wait are seen; it also goes back to the event loop between pieces of a fast transfer. Bytes OpenSSL
        // already holds (decrypted, or a record read whole) would not wake the socket: they are read at once.
        error_code wait_ec;
        if (read_first) co_await net::post(socket_of(from).get_executor(), net::use_awaitable);
        else if (!holds_input(from))
            std::tie(wait_ec) = co_await socket_of(from).async_wait(tcp::socket::wait_read, use_tuple);
        if (wait_ec) {
            r = {pump_end::source_failed, wait_ec, r.bytes};
            break;
        }
        if (!piece) piece = std::make_unique_for_overwrite<char[]>(tunnel_piece);
        error_code ec;
        std::size_t n = 0;
        if constexpr (is_tls_stream<From>) std::tie(ec, n) = co_await detail::read_piece_async(from, piece.get());
        else std::tie(ec, n) = detail::read_piece(from, piece.get());
        if (ec == net::error::would_block || ec == net::error::try_again) {
            piece.reset();
            read_first = false;
            continue;
        }
        if (ec == net::error::eof) {
            // A TLS client is not half-closed here: close_notify must come before the FIN, and sending it is the
            // caller's (the session's tunnel step). A TLS node gets a TCP FIN (node_stream::shutdown_send).
            if constexpr (!is_tls_stream<To>) shutdown_send(to);
            break;
        }
        if (ec) {
            r = {pump_end::source_failed, ec, r.bytes};
            break;
        }
        watch.writing();
        auto [write_ec, written] = co_await eager_write(to, net::buffer(piece.get(), n));
        if (write_ec) {
            r = {pump_end::destination_failed, write_ec, r.bytes};
            break;
        }
        r.bytes += n;
        watch.moved(std::string_view(piece.get(), n));
        read_first = reads_through_tls(from);
        if (!read_first && n < tunnel_piece && !holds_input(from)) piece.reset();  // empty for now: wait without one
    }
    watch.ended(r);
    co_return r;
}

}  // namespace gatehouse::proxy
