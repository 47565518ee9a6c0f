// A node connection, plain or TLS: the reads and checks that do not wait.
#include <gatehouse/upstream/node_stream.hpp>

#include <openssl/ssl.h>

#include <cerrno>
#include <sys/socket.h>

namespace gatehouse::upstream {

std::size_t node_stream::read_now(const net::mutable_buffer& buffer, error_code& ec) {
    if (!tls_) return plain_.read_some(buffer, ec);
    // Asio's synchronous TLS read on a non-blocking socket: OpenSSL takes what Asio already holds, then the socket
    // is read once; nothing received leaves the TLS state as it was (OpenSSL wants more input) with would_block.
    const std::size_t n = tls_->read_some(buffer, ec);
    if (ec == ssl::error::stream_truncated) ec = net::error::eof;  // closed without close_notify
    return n;
}

void node_stream::shutdown_send(error_code& ec) noexcept {
    // A TCP FIN without close_notify: Asio's TLS shutdown would at once wait for the node's close_notify, and
    // OpenSSL discards application data read while it waits (the other direction of a tunnel may still carry some).
    socket().shutdown(tcp::socket::shutdown_send, ec);
}

bool still_open_and_quiet(node_stream& connection) noexcept {
    if (connection.is_tls()) {
        char byte;
        error_code ec;
        connection.read_now(net::buffer(&byte, 1), ec);
        return ec == net::error::would_block || ec == net::error::try_again;
    }
    char byte;
    const auto n = ::recv(connection.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace gatehouse::upstream
