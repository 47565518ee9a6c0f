// Relaying a tunnel's bytes one way, with a small buffer taken only while bytes are there.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/tls_stream.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
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

/// Bytes a tunnel direction reads into its own small buffer while it waits: a short message (a NocoBase `ping`, a
/// chat event) goes through without a piece.
inline constexpr std::size_t tunnel_head = 64;

/// What byte_pump needs of each side of a tunnel: a plain TCP socket, the client's TLS stream (wss), or a node
/// connection (plain, or TLS to an https:// node).
namespace tunnel_side {

/// The socket read and written directly when the side is plain TCP (direct writes, read_drain's marks); nullptr
/// through TLS (every read and write then goes through OpenSSL).
inline tcp::socket* plain_socket(tcp::socket& s) noexcept { return &s; }
inline tcp::socket* plain_socket(tls_stream&) noexcept { return nullptr; }
inline tcp::socket* plain_socket(upstream::node_stream& s) noexcept { return s.is_tls() ? nullptr : &s.socket(); }

/// Reads what is there now without waiting: net::error::would_block when nothing is (or, through the client's
/// TLS, when OpenSSL holds no decrypted byte: a record still to decrypt is left to the next asynchronous read, so
/// this read never touches the socket nor writes).
inline std::size_t read_now(tcp::socket& s, const net::mutable_buffer& b, error_code& ec) { return s.read_some(b, ec); }
inline std::size_t read_now(upstream::node_stream& s, const net::mutable_buffer& b, error_code& ec) {
    return s.read_now(b, ec);
}
inline std::size_t read_now(tls_stream& s, const net::mutable_buffer& b, error_code& ec) {
    if (SSL_pending(s.native_handle()) <= 0) {
        ec = net::error::would_block;
        return 0;
    }
    return s.read_some(b, ec);  // OpenSSL has the bytes: no socket read, no write
}

/// Passes a FIN on: the sending side of a plain socket or of a node connection (a TCP FIN, no close_notify, see
/// node_stream::shutdown_send). Not on a TLS client: close_notify must come before its FIN, and sending it is the
/// session's (tunnel.cpp).
inline void shutdown_send(tcp::socket& s) noexcept {
    error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
}
inline void shutdown_send(tls_stream&) noexcept {}
inline void shutdown_send(upstream::node_stream& s) noexcept {
    error_code ignored;
    s.shutdown_send(ignored);
}

/// A TLS peer closing without close_notify is the end of its bytes all the same (a WebSocket has its own close
/// frames); a close_notify reads as eof already.
inline error_code end_of_tls(const error_code& ec) noexcept {
    return ec == net::ssl::error::stream_truncated ? error_code(net::error::eof) : ec;
}

}  // namespace tunnel_side

/// Copies bytes from `from` to `to` until `from` closes or either side fails, never holding a message whole:
/// - it waits with an asynchronous read into a 64-byte buffer of its own: a quiet direction holds no piece, and it
///   is driven by completion handlers, not a coroutine (an idle direction costs one pending read whose handler holds
///   a pointer); only when those 64 bytes are filled is a 16 KiB piece taken for the rest (read at once, without
///   waiting), given back once a read emptied the socket;
/// - on a plain socket, a read that emptied it marks it drained (read_drain.hpp, same rule as
///   read_some_unless_drained), so the next wait costs no system call: a message costs a read and a write, as in
///   Nginx;
/// - through TLS (a wss client, an https:// node) every read goes through OpenSSL (Asio's TLS stream), which reads
///   the socket only when it holds no whole record: bytes OpenSSL already holds are never waited for at the socket;
/// - each piece is written (directly while the kernel takes it on a plain socket, else by an asynchronous write)
///   before the next read, so a side that does not read stops the other (its kernel buffers fill) instead of
///   gatehouse's memory growing;
/// - a FIN from `from` is passed on as a shutdown of `to`'s sending side (half-close; not to a TLS client, see
///   tunnel_side::shutdown_send), and ends this direction only.
/// Plain sockets must be in non-blocking mode (client and node sockets are). `watch` is told of progress:
/// `watch.writing()` before a write (that may wait on a side that does not read), `watch.moved(piece)` after the bytes
/// of `piece` (one read's worth) went through, and `watch.ended(result)` once, when this direction ends; then
/// `done(result)`. `watch.stopped()` true ends the direction before its next wait (source_failed, operation_aborted):
/// cancelling a socket ends the pending wait, and this ends one whose completion was already queued. The pump must
/// outlive its operations: its owner waits for `done` (cancelling or closing the sockets ends the pending operation).
template <class From, class To, class Watch>
class byte_pump {
public:
    byte_pump(From& from, To& to, Watch watch) : from_(from), to_(to), watch_(watch) {}
    byte_pump(const byte_pump&) = delete;
    byte_pump& operator=(const byte_pump&) = delete;

    /// Starts the direction; `done(const pump_result&)` is called once, from a handler of the sockets' context.
    template <class Done>
    void start(Done done) {
        done_ = std::move(done);
        wait();
    }

private:
    void wait() {
        if (watch_.stopped()) return finish(pump_end::source_failed, net::error::operation_aborted);
        tcp::socket* plain = tunnel_side::plain_socket(from_);
        if (plain && !known_drained(*plain) && read_drain_enabled() && read_own(*plain)) return;
        // Marked drained (by the last read), Asio queues the read without trying it and without an epoll_ctl call;
        // it is performed on the next readiness event, and its completion runs from that same event's handling, so
        // a short read there may mark the socket again (read_some_unless_drained's rule).
        queued_without_attempt_ = plain && known_drained(*plain);
        from_.async_read_some(net::buffer(head_), [this](const error_code& ec, std::size_t n) {
            arrived(tunnel_side::end_of_tls(ec), n);
        });
    }

    /// A plain socket not marked drained: Asio would try a read first and, finding nothing, queue the operation; its
    /// completion could then not tell that attempt from one that found bytes (after which a mark is unsafe), so the
    /// socket would stay unmarked, one failed read per message. Reading here first instead: nothing marks it (our
    /// own read, no wait in between); a short read marks it and is relayed at once; anything else (64 bytes, the
    /// end, an error) goes through the event loop like a completion. False when the asynchronous read must follow.
    bool read_own(tcp::socket& socket) {
        error_code ec;
        const std::size_t n = socket.read_some(net::buffer(head_), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            mark_drained(socket);
            return false;
        }
        if (!ec && n < tunnel_head) {
            mark_drained(socket);
            if (known_drained(socket)) {  // the next wait is queued: no recursion past one relay
                relay(head_, n, false);
                return true;
            }
        }
        queued_without_attempt_ = false;
        net::post(socket.get_executor(), [this, ec, n] { arrived(ec, n); });
        return true;
    }

    void arrived(const error_code& ec, std::size_t n) {
        if (ec == net::error::eof) return source_closed();
        if (ec) return finish(pump_end::source_failed, ec);
        tcp::socket* plain = tunnel_side::plain_socket(from_);
        if (n < tunnel_head) {
            if (plain && queued_without_attempt_) mark_drained(*plain);
            return relay(head_, n, false);
        }
        if (!piece_) {
            piece_.reset(new (std::nothrow) char[tunnel_piece]);
            if (!piece_) return finish(pump_end::source_failed, net::error::no_memory);
        }
        std::memcpy(piece_.get(), head_, n);
        error_code rec;
        const std::size_t more = tunnel_side::read_now(from_, net::buffer(piece_.get() + n, tunnel_piece - n), rec);
        rec = tunnel_side::end_of_tls(rec);
        const bool eof = rec == net::error::eof;
        const bool empty = rec == net::error::would_block || rec == net::error::try_again;
        if (rec && !eof && !empty) return finish(pump_end::source_failed, rec);
        if (plain && (empty || (!rec && n + more < tunnel_piece))) mark_drained(*plain);  // our own read
        relay(piece_.get(), n + more, eof);
    }

    /// Writes `n` bytes at `data`, then waits for more (or passes the FIN on when `eof`).
    void relay(const char* data, std::size_t n, bool eof) {
        watch_.writing();
        std::size_t written = 0;
        if (tcp::socket* plain = tunnel_side::plain_socket(to_)) {
            error_code ec;
            while (written < n) {  // directly while the kernel takes it
                const std::size_t w = plain->write_some(net::buffer(data + written, n - written), ec);
                if (ec == net::error::would_block || ec == net::error::try_again) break;
                if (ec) return finish(pump_end::destination_failed, ec);
                written += w;
            }
            if (written == n) return written_whole(data, n, eof);
        }
        net::async_write(to_, net::buffer(data + written, n - written),
                         [this, data, n, eof](const error_code& write_ec, std::size_t) {
                             if (write_ec) return finish(pump_end::destination_failed, write_ec);
                             written_whole(data, n, eof);
                         });
    }

    void written_whole(const char* data, std::size_t n, bool eof) {
        bytes_ += n;
        watch_.moved(std::string_view(data, n));
        if (eof) return source_closed();
        if (n < tunnel_piece) piece_.reset();  // the source is empty for now: wait without a piece
        wait();
    }

    void source_closed() {
        tunnel_side::shutdown_send(to_);
        finish(pump_end::source_closed, {});
    }

    void finish(pump_end end, const error_code& ec) noexcept {
        piece_.reset();
        const pump_result r{end, ec, bytes_};
        watch_.ended(r);
        done_(r);
    }

    From& from_;
    To& to_;
    Watch watch_;
    bool queued_without_attempt_ = false;
    char head_[tunnel_head];
    std::unique_ptr<char[]> piece_;
    std::uint64_t bytes_ = 0;
    std::function<void(const pump_result&)> done_;
};

}  // namespace gatehouse::proxy
