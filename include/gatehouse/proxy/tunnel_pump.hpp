// Relaying a tunnel's bytes one way, with a small buffer taken only while bytes are there.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/asio/write.hpp>

#include <cstdint>
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

/// Copies bytes from `from` to `to` until `from` closes or either side fails, never holding a message whole:
/// - it waits for readability on the bare socket before taking a buffer, so a quiet direction holds none; and it is
///   driven by completion handlers, not a coroutine: an idle direction costs one pending readability wait (its
///   handler holds a pointer), no coroutine frame; the piece is given back whenever a read emptied the socket;
/// - each piece is written (directly while the kernel takes it, the rest by an asynchronous write) before the next
///   read, so a side that does not read stops the other (its kernel buffers fill) instead of gatehouse's memory
///   growing;
/// - a FIN from `from` is passed on as a shutdown of `to`'s sending side (half-close), and ends this direction only.
/// Both sockets must be in non-blocking mode (client and node sockets are). `watch` is told of progress:
/// `watch.writing()` before a write (that may wait on a side that does not read), `watch.moved(piece)` after the bytes
/// of `piece` (one read's worth) went through, and `watch.ended(result)` once, when this direction ends; then
/// `done(result)`. The pump must outlive its operations: its owner waits for `done` (cancelling or closing the
/// sockets ends the pending wait or write).
template <class Watch>
class byte_pump {
public:
    byte_pump(tcp::socket& from, tcp::socket& to, Watch watch) : from_(from), to_(to), watch_(watch) {}
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
        // Waiting for readability re-arms the socket (EPOLL_CTL_MOD re-checks it), so bytes that came before
        // the wait are seen; it also goes back to the event loop between pieces of a fast transfer.
        from_.async_wait(tcp::socket::wait_read, [this](const error_code& ec) { readable(ec); });
    }

    void readable(const error_code& wait_ec) {
        if (wait_ec) return finish(pump_end::source_failed, wait_ec);
        if (!piece_) {
            piece_.reset(new (std::nothrow) char[tunnel_piece]);
            if (!piece_) return finish(pump_end::source_failed, net::error::no_memory);
        }
        error_code ec;
        const std::size_t n = from_.read_some(net::buffer(piece_.get(), tunnel_piece), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            piece_.reset();
            return wait();
        }
        if (ec == net::error::eof) {
            error_code ignored;
            to_.shutdown(tcp::socket::shutdown_send, ignored);
            return finish(pump_end::source_closed, {});
        }
        if (ec) return finish(pump_end::source_failed, ec);
        watch_.writing();
        std::size_t written = 0;
        while (written < n) {  // directly while the kernel takes it
            const std::size_t w = to_.write_some(net::buffer(piece_.get() + written, n - written), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) break;
            if (ec) return finish(pump_end::destination_failed, ec);
            written += w;
        }
        if (written == n) return piece_written(n);
        net::async_write(to_, net::buffer(piece_.get() + written, n - written),
                         [this, n](const error_code& write_ec, std::size_t) {
                             if (write_ec) return finish(pump_end::destination_failed, write_ec);
                             piece_written(n);
                         });
    }

    void piece_written(std::size_t n) {
        bytes_ += n;
        watch_.moved(std::string_view(piece_.get(), n));
        if (n < tunnel_piece) piece_.reset();  // the socket is empty for now: wait without a buffer
        wait();
    }

    void finish(pump_end end, const error_code& ec) noexcept {
        piece_.reset();
        const pump_result r{end, ec, bytes_};
        watch_.ended(r);
        done_(r);
    }

    tcp::socket& from_;
    tcp::socket& to_;
    Watch watch_;
    std::unique_ptr<char[]> piece_;
    std::uint64_t bytes_ = 0;
    std::function<void(const pump_result&)> done_;
};

}  // namespace gatehouse::proxy
