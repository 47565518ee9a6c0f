// client_session: the handshake step of a TLS connection, and why a failed one failed.
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace gatehouse::proxy {

metrics::tls_failure classify_handshake_error(const error_code& ec, bool timed_out) noexcept {
    using metrics::tls_failure;
    if (timed_out) return tls_failure::timeout;
    if (ec == net::error::eof || ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated ||
        ec == net::error::operation_aborted || ec == net::error::broken_pipe)
        return tls_failure::closed;
    if (ec.category() != net::error::get_ssl_category()) return tls_failure::other;
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST: return tls_failure::plain_http;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_NO_SHARED_CIPHER: return tls_failure::protocol;
    default: return tls_failure::other;
    }
}

namespace detail {

namespace {
/// One info line per worker thread per interval about failed handshakes (each failure is at debug): a scan or a
/// flood of broken clients does not flood the log.
thread_local log::every failure_log(10'000);
}  // namespace

template <class Stream>
net::awaitable<bool> client_session<Stream>::handshake() {
    set_deadline(phase::handshake, host_.snapshot()->config->timeouts.client_header);
    auto [ec] = co_await stream_.async_handshake(net::ssl::stream_base::server, use_tuple);
    if (ec) {
        handshake_failed(ec);
        co_return false;
    }
    handshake_done();
    co_return true;
}

template <class Stream>
void client_session<Stream>::handshake_failed(const error_code& ec) {
    const auto reason = classify_handshake_error(ec, timed_out_);
    if (host_.counting()) ++host_.counters().tls_handshake_failures[static_cast<std::size_t>(reason)];
    const std::string line = "client " + peer_ip_ + ": TLS handshake failed (" + metrics::to_string(reason) + ": " +
                             ec.message() + ")";
    if (reason != metrics::tls_failure::closed && failure_log.due(util::coarse_now_ms()))
        log::info(line + "; more such failures in the next 10 s are logged at debug only");
    else
        log::debug(line);
}

template <class Stream>
void client_session<Stream>::handshake_done() noexcept {
    if (!host_.counting()) return;
    ++host_.counters().tls_handshakes;
    if (SSL_session_reused(stream_.native_handle()) == 1) ++host_.counters().tls_resumed;
}

template <class Stream>
net::awaitable<void> client_session<Stream>::send_close_notify() {
    SSL* ssl = stream_.native_handle();
    if (!socket_of(stream_).is_open() || SSL_is_init_finished(ssl) != 1 || (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
        co_return;
    // Both TLS modes then wait for the client's close_notify or close: the closing deadline bounds that.
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    co_await stream_.async_shutdown(use_tuple);
}

// The handshake exists for the TLS stream only.
template net::awaitable<bool> client_session<tls_stream>::handshake();
template void client_session<tls_stream>::handshake_failed(const error_code&);
template void client_session<tls_stream>::handshake_done() noexcept;
template net::awaitable<void> client_session<tls_stream>::send_close_notify();

}  // namespace detail
}  // namespace gatehouse::proxy
