// The TLS client stream: the session's second instantiation, and what the tunnel needs to know about it.
#pragma once

#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <openssl/ssl.h>

#include <memory>
#include <type_traits>
#include <utility>

namespace gatehouse::proxy {

/// How a TLS client connection moves its bytes ([tls] direct_io).
enum class tls_io {
    /// OpenSSL reads and writes the socket's descriptor itself (SSL_set_fd), Asio only waits for readiness: no
    /// buffer outside OpenSSL's own record buffers, which SSL_MODE_RELEASE_BUFFERS frees while the connection idles.
    direct,
    /// Asio's ssl::stream: OpenSSL behind a 2 × 17 KiB BIO pair, plus 2 × 17 KiB buffers of Asio's, held for the
    /// connection's life (about 69 KiB per idle connection against about 21 KiB direct). The fallback.
    asio,
};

/// A server-side TLS stream over a connected TCP socket, in either tls_io mode; the interface is the part of Asio's
/// ssl::stream that gatehouse uses (async_handshake, async_read_some, async_write_some, async_shutdown,
/// native_handle, next_layer), so Beast's and Asio's composed operations take it as they took ssl::stream.
///
/// Direct mode, what it relies on: the socket is in non-blocking mode (the constructor sets it); every OpenSSL call
/// happens on the connection's one thread; an operation that OpenSSL cannot finish (SSL_ERROR_WANT_READ/WRITE)
/// waits for the socket's readiness and calls OpenSSL again with the same arguments (at most one read and one
/// write at a time, as with ssl::stream). Errors are Asio's: a close_notify reads as net::error::eof, a close
/// without it as net::ssl::error::stream_truncated, OpenSSL's reasons in net::error::get_ssl_category().
class tls_stream {
public:
    using executor_type = tcp::socket::executor_type;
    using next_layer_type = tcp::socket;
    using lowest_layer_type = tcp::socket::lowest_layer_type;
    using native_handle_type = SSL*;

    tls_stream(tcp::socket&& socket, net::ssl::context& context, tls_io mode = tls_io::direct);
    tls_stream(tls_stream&& other) noexcept;
    tls_stream& operator=(tls_stream&&) = delete;
    tls_stream(const tls_stream&) = delete;
    ~tls_stream();

    executor_type get_executor() noexcept { return next_layer().get_executor(); }
    tcp::socket& next_layer() noexcept { return asio_ ? asio_->next_layer() : socket_; }
    const tcp::socket& next_layer() const noexcept { return asio_ ? asio_->next_layer() : socket_; }
    lowest_layer_type& lowest_layer() noexcept { return next_layer().lowest_layer(); }
    SSL* native_handle() noexcept { return asio_ ? asio_->native_handle() : ssl_; }
    tls_io mode() const noexcept { return asio_ ? tls_io::asio : tls_io::direct; }

    template <class Token>
    auto async_handshake(net::ssl::stream_base::handshake_type, Token&& token) {
        return net::async_initiate<Token, void(error_code)>(
            [this](auto handler) {
                if (asio_) return asio_->async_handshake(net::ssl::stream_base::server, std::move(handler));
                run_op<void(error_code)>(op_kind::handshake, nullptr, 0, std::move(handler));
            },
            token);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (asio_) return asio_->async_read_some(b, std::move(handler));
                const net::mutable_buffer first = first_of(b);
                run_op<void(error_code, std::size_t)>(op_kind::read, first.data(), first.size(), std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (asio_) return asio_->async_write_some(b, std::move(handler));
                const net::const_buffer first = first_of(b);
                run_op<void(error_code, std::size_t)>(op_kind::write, const_cast<void*>(first.data()), first.size(),
                                                      std::move(handler));
            },
            token, buffers);
    }

    /// Sends close_notify, then waits for the client's close_notify or its close (application data meanwhile is
    /// dropped), like Asio's ssl::stream in both modes: bound it with a deadline.
    template <class Token>
    auto async_shutdown(Token&& token) {
        return net::async_initiate<Token, void(error_code)>(
            [this](auto handler) {
                if (asio_) return asio_->async_shutdown(std::move(handler));
                run_op<void(error_code)>(op_kind::shutdown, nullptr, 0, std::move(handler));
            },
            token);
    }

    /// Asio's synchronous read_some, for callers that read only when OpenSSL holds decrypted bytes (SSL_pending), so
    /// that it never waits: Asio's mode reads through ssl::stream, direct mode is read_now (would_block when nothing
    /// is there, where ssl::stream would block).
    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
        if (asio_) return asio_->read_some(buffers, ec);
        return read_now(first_of(buffers), ec);
    }

    /// Direct mode: one non-blocking attempt of a read or write; would_block when OpenSSL needs the socket (a read
    /// that found nothing makes the next async_read_some wait for readability before its first attempt).
    /// Asio's mode: would_block always (take the asynchronous path).
    std::size_t read_now(net::mutable_buffer buffer, error_code& ec) noexcept;
    std::size_t write_now(net::const_buffer buffer, error_code& ec) noexcept;

private:
    enum class op_kind { handshake, read, write, shutdown };
    /// One OpenSSL call for `kind`: > 0 done (with *n bytes), 0 waiting for `wants` (wait_read or wait_write),
    /// < 0 failed with `ec`.
    int attempt(op_kind kind, void* data, std::size_t size, std::size_t& n, tcp::socket::wait_type& wants,
                error_code& ec) noexcept;

    template <class Signature, class Handler>
    void run_op(op_kind kind, void* data, std::size_t size, Handler&& handler) {
        constexpr bool with_size = std::is_same_v<Signature, void(error_code, std::size_t)>;
        net::async_compose<Handler, Signature>(io_op<with_size>{this, kind, data, size}, handler, socket_);
    }

    /// The composed operation: attempt, wait for what OpenSSL wants, attempt again. A result found without any wait
    /// is posted, not given from inside the initiating call (Asio's rule for asynchronous operations).
    template <bool WithSize>
    struct io_op {
        tls_stream* s;
        op_kind kind;
        void* data;
        std::size_t size;
        bool waited = false;
        bool finished = false;
        error_code result_ec{};
        std::size_t result_n = 0;

        template <class Self>
        void operator()(Self& self, error_code wait_ec = {}) {
            if (!finished) {
                if (wait_ec) return complete(self, wait_ec, 0);
                if (!waited && kind == op_kind::read && std::exchange(s->read_found_nothing_, false)) {
                    waited = true;  // read_now just found the socket empty: wait instead of a second attempt
                    return s->socket_.async_wait(tcp::socket::wait_read, std::move(self));
                }
                tcp::socket::wait_type wants = tcp::socket::wait_read;
                if (s->attempt(kind, data, size, result_n, wants, result_ec) == 0) {
                    waited = true;
                    return s->socket_.async_wait(wants, std::move(self));
                }
                if (!waited) {
                    finished = true;
                    return net::post(s->socket_.get_executor(), std::move(self));
                }
            }
            complete(self, result_ec, result_n);
        }
        template <class Self>
        static void complete(Self& self, error_code ec, std::size_t n) {
            if constexpr (WithSize) self.complete(ec, n);
            else self.complete(ec);
        }
    };

    template <class Buffers>
    static auto first_of(const Buffers& b) {
        for (auto it = net::buffer_sequence_begin(b); it != net::buffer_sequence_end(b); ++it)
            if (it->size() != 0) return *it;
        return *net::buffer_sequence_begin(b);
    }

    tcp::socket socket_;  ///< direct mode; empty in Asio's mode (the socket is inside asio_)
    SSL* ssl_ = nullptr;  ///< direct mode
    std::unique_ptr<net::ssl::stream<tcp::socket>> asio_;
    bool read_found_nothing_ = false;  ///< the last read_now needed the socket to become readable
};

template <class Stream>
inline constexpr bool is_tls_stream = std::is_same_v<Stream, tls_stream>;

/// The socket under a client stream.
inline tcp::socket& socket_of(tcp::socket& s) noexcept { return s; }
inline tcp::socket& socket_of(tls_stream& s) noexcept { return s.next_layer(); }

/// True when a read may complete without the socket becoming readable: OpenSSL holds decrypted bytes or a record
/// read from the socket and not yet processed. Waiting for readability on the bare socket is then wrong (the bytes
/// are already in gatehouse's memory: the wait could last forever).
inline bool holds_input(tcp::socket&) noexcept { return false; }
inline bool holds_input(tls_stream& s) noexcept {
    SSL* ssl = s.native_handle();
    return SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
}

/// Why a handshake that ended with `ec` failed (`timed_out`: the session's deadline cancelled it).
metrics::tls_failure classify_handshake_error(const error_code& ec, bool timed_out) noexcept;

}  // namespace gatehouse::proxy
