// A connection to a node: plain TCP, or TLS over it (an https:// node). One type for the session and the pool.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>

namespace gatehouse::upstream {

namespace ssl = boost::asio::ssl;

/// The TCP socket always exists; TLS adds an ssl::stream that owns it (start_tls moves the socket in). Reads and
/// writes (async_read_some / async_write_some, so Asio and Beast algorithms take it as a stream) go through TLS
/// when it is there. Plain connections keep their fast paths (proxy/eager_io.hpp overloads), which work on
/// socket(); TLS ones take the asynchronous path.
class node_stream {
public:
    using executor_type = tcp::socket::executor_type;
    using tls_stream = ssl::stream<tcp::socket>;

    explicit node_stream(net::io_context& context) : plain_(context) {}
    node_stream(tcp::socket&& socket) : plain_(std::move(socket)) {}  // NOLINT: a plain connection

    executor_type get_executor() noexcept { return socket().get_executor(); }

    /// The TCP connection (under TLS when there is TLS).
    tcp::socket& socket() noexcept { return tls_ ? tls_->next_layer() : plain_; }
    const tcp::socket& socket() const noexcept { return tls_ ? tls_->next_layer() : plain_; }
    /// The TLS stream, or nullptr for a plain connection.
    tls_stream* tls() noexcept { return tls_.get(); }
    bool is_tls() const noexcept { return tls_ != nullptr; }

    /// Puts TLS over the (connected) socket; the handshake is the caller's (async_handshake on tls()).
    tls_stream& start_tls(ssl::context& context) {
        tls_ = std::make_unique<tls_stream>(std::move(plain_), context);
        return *tls_;
    }

    bool is_open() const noexcept { return socket().is_open(); }
    void cancel(error_code& ec) noexcept { socket().cancel(ec); }
    /// Closes the TCP connection (no close_notify: a node connection ends by closing, as a proxy's does).
    void close(error_code& ec) noexcept { socket().close(ec); }

    /// Through TLS, a node that closes without close_notify ends the stream like one that sends it (net::error::eof):
    /// HTTP's own framing (Content-Length, chunked) still finds a body cut short, as on a plain connection.
    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) {
                if (!tls_) return plain_.async_read_some(b, std::move(handler));
                auto executor = net::get_associated_executor(handler, get_executor());
                auto slot = net::get_associated_cancellation_slot(handler);
                tls_->async_read_some(
                    b, net::bind_cancellation_slot(slot, net::bind_executor(executor,
                        [h = std::move(handler)](error_code ec, std::size_t n) mutable {
                            if (ec == ssl::error::stream_truncated) ec = net::error::eof;
                            std::move(h)(ec, n);
                        })));
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                if (tls_) tls_->async_write_some(b, std::move(handler));
                else plain_.async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

    /// Reads what is there now without waiting (the socket is non-blocking): through TLS when there is TLS.
    /// net::error::would_block when nothing is (TLS: no whole record); net::error::eof at the end (a TLS node's
    /// close_notify, or a close without one). After a TLS read that returned bytes, more may already be inside
    /// OpenSSL or Asio's TLS buffers with the socket empty: read again (until would_block) before waiting for the
    /// socket's readiness. would_block means TLS took everything received and needs the socket.
    std::size_t read_now(const net::mutable_buffer& buffer, error_code& ec);

    /// Ends the sending side with a TCP FIN (no TLS close_notify: see node_stream.cpp).
    void shutdown_send(error_code& ec) noexcept;

private:
    tcp::socket plain_;  // moved into tls_ by start_tls
    std::unique_ptr<tls_stream> tls_;
};

/// True when the node has neither closed `connection` nor sent anything on it: one recv(MSG_PEEK|MSG_DONTWAIT) for a
/// plain connection; for TLS a non-blocking read through TLS (which takes a TLS 1.3 session ticket in its stride and
/// finds a close_notify or stray bytes).
bool still_open_and_quiet(node_stream& connection) noexcept;

}  // namespace gatehouse::upstream
