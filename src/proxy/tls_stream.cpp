// The TLS client stream's OpenSSL calls in direct mode (SSL over the socket's descriptor) and its error mapping.
#include <gatehouse/proxy/tls_stream.hpp>

#include <openssl/err.h>

#include <cerrno>
#include <new>

namespace gatehouse::proxy {

namespace {

/// Asio's meaning for what OpenSSL reported: close_notify = eof, a close without it = stream_truncated, a system
/// call's errno as a system error, anything else OpenSSL's first queued error in the ssl category.
error_code map_error(int ssl_error, int saved_errno) noexcept {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) return net::error::eof;
    if (ssl_error == SSL_ERROR_SYSCALL) {
        ERR_clear_error();
        if (saved_errno != 0) return {saved_errno, net::error::get_system_category()};
        return net::ssl::error::stream_truncated;
    }
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return net::ssl::error::unspecified_system_error;
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return net::ssl::error::stream_truncated;
    return {static_cast<int>(code), net::error::get_ssl_category()};
}

}  // namespace

tls_stream::tls_stream(tcp::socket&& socket, net::ssl::context& context, tls_io mode) : socket_(std::move(socket)) {
    if (mode == tls_io::asio) {
        asio_ = std::make_unique<net::ssl::stream<tcp::socket>>(std::move(socket_), context);
        return;
    }
    ssl_ = SSL_new(context.native_handle());
    if (!ssl_) throw std::bad_alloc();
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    // One recv for whatever the socket has (up to the 17 KiB record buffer), not one for each record's 5-byte header
    // and one for its body; what it read beyond the record stays in OpenSSL (SSL_has_pending, see holds_input).
    SSL_set_read_ahead(ssl_, 1);
    error_code ignored;
    socket_.non_blocking(true, ignored);
    SSL_set_fd(ssl_, socket_.native_handle());  // a socket BIO that does not close the descriptor
    SSL_set_accept_state(ssl_);
}

tls_stream::tls_stream(tls_stream&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      asio_(std::move(other.asio_)),
      read_found_nothing_(other.read_found_nothing_) {}

tls_stream::~tls_stream() {
    if (ssl_) SSL_free(ssl_);
}

int tls_stream::attempt(op_kind kind, void* data, std::size_t size, std::size_t& n, tcp::socket::wait_type& wants,
                        error_code& ec) noexcept {
    n = 0;
    ec = {};
    if (kind == op_kind::read) read_found_nothing_ = false;
    if (!socket_.is_open()) {
        ec = net::error::bad_descriptor;
        return -1;
    }
    if ((kind == op_kind::read || kind == op_kind::write) && size == 0) return 1;
    if (kind == op_kind::shutdown && SSL_is_init_finished(ssl_) != 1) {
        ec = net::error::not_connected;  // no handshake done: nothing to close
        return -1;
    }
    // SSL_get_error needs an empty error queue; failures below leave it empty, so it is cleared only when something
    // else left an error (clearing costs OpenSSL 3 about 1,700 instructions: 16 slots, each freed).
    if (ERR_peek_error() != 0) ERR_clear_error();
    errno = 0;
    int r = 0;
    switch (kind) {
    case op_kind::handshake: r = SSL_do_handshake(ssl_); break;
    case op_kind::read: r = SSL_read_ex(ssl_, data, size, &n); break;
    case op_kind::write: r = SSL_write_ex(ssl_, data, size, &n); break;
    case op_kind::shutdown:
        // The first call sends close_notify (0: sent); the next ones read until the client's close_notify (1) or its
        // close (an error): closing before that could reset the connection under bytes the client has yet to read.
        r = SSL_shutdown(ssl_);
        if (r == 0) r = SSL_shutdown(ssl_);
        break;
    }
    const int saved_errno = errno;
    if (r > 0) return 1;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        wants = e == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
        return 0;
    }
    ec = map_error(e, saved_errno);
    return -1;
}

std::size_t tls_stream::read_now(net::mutable_buffer buffer, error_code& ec) noexcept {
    if (asio_) {
        ec = net::error::would_block;
        return 0;
    }
    std::size_t n = 0;
    tcp::socket::wait_type wants{};
    if (attempt(op_kind::read, buffer.data(), buffer.size(), n, wants, ec) == 0) {
        ec = net::error::would_block;
        read_found_nothing_ = wants == tcp::socket::wait_read;
    }
    return n;
}

std::size_t tls_stream::write_now(net::const_buffer buffer, error_code& ec) noexcept {
    if (asio_) {
        ec = net::error::would_block;
        return 0;
    }
    std::size_t n = 0;
    tcp::socket::wait_type wants{};
    if (attempt(op_kind::write, const_cast<void*>(buffer.data()), buffer.size(), n, wants, ec) == 0)
        ec = net::error::would_block;
    return n;
}

}  // namespace gatehouse::proxy
