// Why a TLS handshake failed, from its error: the labels of gatehouse_tls_handshake_failures_total.
#include <gatehouse/proxy/tls_stream.hpp>

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

using namespace gatehouse;
using metrics::tls_failure;
using proxy::classify_handshake_error;

namespace {
error_code openssl(int reason) {
    return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), net::error::get_ssl_category());
}
}  // namespace

TEST(TlsHandshakeError, TimeoutWinsOverTheErrorItCaused) {
    EXPECT_EQ(classify_handshake_error(net::error::operation_aborted, true), tls_failure::timeout);
}

TEST(TlsHandshakeError, PlainHttpAndOldProtocols) {
    EXPECT_EQ(classify_handshake_error(openssl(SSL_R_HTTP_REQUEST), false), tls_failure::plain_http);
    EXPECT_EQ(classify_handshake_error(openssl(SSL_R_UNSUPPORTED_PROTOCOL), false), tls_failure::protocol);
    EXPECT_EQ(classify_handshake_error(openssl(SSL_R_NO_SHARED_CIPHER), false), tls_failure::protocol);
    EXPECT_EQ(classify_handshake_error(openssl(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC), false), tls_failure::other);
}

TEST(TlsHandshakeError, TheClientLeaving) {
    EXPECT_EQ(classify_handshake_error(net::error::eof, false), tls_failure::closed);
    EXPECT_EQ(classify_handshake_error(net::error::connection_reset, false), tls_failure::closed);
    EXPECT_EQ(classify_handshake_error(net::ssl::error::stream_truncated, false), tls_failure::closed);
    EXPECT_EQ(classify_handshake_error(net::error::host_unreachable, false), tls_failure::other);
}
