// The TLS client stream: the session's second instantiation, and what the tunnel needs to know about it.
#pragma once

#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/ssl/stream.hpp>

#include <openssl/ssl.h>

#include <type_traits>

namespace gatehouse::proxy {

/// Asio's own TLS stream over a plain socket. Not Beast's ssl_stream: that one is this same stream behind a
/// heap-allocated flat_stream (one more allocation per connection, and a copy of every multi-buffer write into a
/// flattening buffer); gatehouse writes at most a head and one body piece at a time, and the tunnel needs the
/// OpenSSL handle (SSL_pending) and the socket underneath, which Asio's stream gives directly.
using tls_stream = net::ssl::stream<tcp::socket>;

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
