// Relaying a tunnel's bytes one way, with a small buffer taken only while bytes are there.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <boost/asio/post.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

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

/// What pump_bytes needs of each side: a plain TCP socket here, a node connection (plain or TLS) below.
inline tcp::socket& lowest_socket(tcp::socket& s) noexcept { return s; }
inline bool reads_through_tls(const tcp::socket&) noexcept { return false; }
inline std::size_t read_now(tcp::socket& s, const net::mutable_buffer& b, error_code& ec) { return s.read_some(b, ec); }
inline void shutdown_send(tcp::socket& s) noexcept {
    error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
}
inline tcp::socket& lowest_socket(upstream::node_stream& s) noexcept { return s.socket(); }
inline bool reads_through_tls(const upstream::node_stream& s) noexcept { return s.is_tls(); }
inline std::size_t read_now(upstream::node_stream& s, const net::mutable_buffer& b, error_code& ec) {
    return s.read_now(b, ec);
}
inline void shutdown_send(upstream::node_stream& s) noexcept {
    error_code ignored;
    s.shutdown_send(ignored);
}

/// Copies bytes from `from` to `to` until `from` closes or either side fails, never holding a message whole:
/// - it waits for readability on the bare socket before taking a buffer, so a quiet direction holds none (an
///   idle tunnel costs its sockets and coroutine frames); the piece is given back whenever a read emptied the socket;
/// - each piece is written (eager_write) before the next read, so a side that does not read stops the other
///   (its kernel buffers fill) instead of gatehouse's memory growing;
/// - a FIN from `from` is passed on as a shutdown of `to`'s sending side (half-close), and ends this direction only.
/// Through TLS (an https:// node) the socket's readiness does not tell everything: bytes may already wait inside
/// OpenSSL, so after a read that returned bytes the next read comes without waiting (after a pass through the event
/// loop), and only a read that finds nothing (would_block: TLS needs the socket) waits for readability.
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
        // the wait are seen; it also goes back to the event loop between pieces of a fast transfer.
        error_code wait_ec;
        if (read_first) co_await net::post(lowest_socket(from).get_executor(), net::use_awaitable);
        else std::tie(wait_ec) = co_await lowest_socket(from).async_wait(tcp::socket::wait_read, use_tuple);
        if (wait_ec) {
            r = {pump_end::source_failed, wait_ec, r.bytes};
            break;
        }
        if (!piece) piece = std::make_unique_for_overwrite<char[]>(tunnel_piece);
        error_code ec;
        const std::size_t n = read_now(from, net::buffer(piece.get(), tunnel_piece), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            piece.reset();
            read_first = false;
            continue;
        }
        if (ec == net::error::eof) {
            shutdown_send(to);
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
        if (!read_first && n < tunnel_piece) piece.reset();  // the socket is empty for now: wait without a buffer
    }
    watch.ended(r);
    co_return r;
}

}  // namespace gatehouse::proxy
