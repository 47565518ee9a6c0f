// tls_stream in both modes on real loopback sockets against Asio's TLS client: handshake, bytes both ways (a
// transfer larger than the socket buffers), holds_input, the direct reads and writes, close_notify and its absence.
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/tls_stream.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <csignal>
#include <optional>
#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

/// A server context with a throw-away self-signed P-256 certificate made in memory.
void use_self_signed(net::ssl::context& ctx) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx.native_handle(), cert);
    SSL_CTX_use_PrivateKey(ctx.native_handle(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
}

std::string pattern_of(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

class TlsStream : public ::testing::TestWithParam<tls_io> {
protected:
    TlsStream() {
        std::signal(SIGPIPE, SIG_IGN);
        use_self_signed(server_ctx_);
        client_ctx_.set_verify_mode(net::ssl::verify_none);
        connect_pair();
    }
    /// A new connection: Asio's TLS client and the tls_stream under test.
    void connect_pair() {
        io_.restart();
        server_.reset();
        client_.emplace(io_, client_ctx_);
        tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        client_->next_layer().connect(acceptor.local_endpoint());
        tcp::socket s(io_);
        acceptor.accept(s);
        server_.emplace(std::move(s), server_ctx_, GetParam());
    }
    /// Runs both sides to the end (bounded: the loop stops after 20 s whatever happens).
    template <class Server, class Client>
    void run(Server server, Client client) {
        net::co_spawn(io_, std::move(server), net::detached);
        net::co_spawn(io_, std::move(client), net::detached);
        io_.run_for(std::chrono::seconds(20));
    }
    net::awaitable<void> client_handshake() {
        auto [ec] = co_await client_->async_handshake(net::ssl::stream_base::client, use_tuple);
        EXPECT_FALSE(ec) << ec.message();
    }

    net::io_context io_;
    net::ssl::context server_ctx_{net::ssl::context::tls_server};
    net::ssl::context client_ctx_{net::ssl::context::tls_client};
    std::optional<net::ssl::stream<tcp::socket>> client_;
    std::optional<tls_stream> server_;
};

// Bytes both ways, 4 MiB from the server (its writes wait for the socket; a sequence with empty pieces) and a
// request; then close_notify from the server reads as eof at the client.
TEST_P(TlsStream, MovesBytesBothWaysAndShutdownSendsCloseNotify) {
    const std::string big = pattern_of(4 << 20);
    std::string got_request, got_big;
    error_code client_end, shutdown_ec;
    bool server_done = false;
    run([&]() -> net::awaitable<void> {
            auto& s = *server_;
            auto [hec] = co_await s.async_handshake(net::ssl::stream_base::server, use_tuple);
            EXPECT_FALSE(hec) << hec.message();
            EXPECT_EQ(s.mode(), GetParam());
            char buf[64];
            while (got_request.size() < 5) {
                auto [ec, n] = co_await read_some_unless_drained(s, net::buffer(buf));
                if (ec) break;
                got_request.append(buf, n);
            }
            // Empty pieces in the sequence (a response's unused framing) are skipped, not written as nothing forever.
            const std::array<net::const_buffer, 4> pieces{net::buffer(big.data(), 10), net::const_buffer(),
                                                          net::buffer(big.data() + 10, big.size() - 10), net::const_buffer()};
            auto [wec, wn] = co_await eager_write(s, pieces);
            EXPECT_FALSE(wec);
            EXPECT_EQ(wn, big.size());
            std::tie(shutdown_ec) = co_await s.async_shutdown(use_tuple);
            server_done = true;
        },
        [&]() -> net::awaitable<void> {
            co_await client_handshake();
            co_await net::async_write(*client_, net::buffer(std::string("hello")), use_tuple);
            char buf[65536];
            for (;;) {
                auto [ec, n] = co_await client_->async_read_some(net::buffer(buf), use_tuple);
                got_big.append(buf, n);
                if (ec) {
                    client_end = ec;
                    break;
                }
            }
            co_await client_->async_shutdown(use_tuple);  // Asio's mode waits for it
        });
    EXPECT_TRUE(server_done);
    EXPECT_FALSE(shutdown_ec) << shutdown_ec.message();
    EXPECT_EQ(got_request, "hello");
    EXPECT_TRUE(got_big == big) << got_big.size();
    EXPECT_EQ(client_end, net::error::eof) << client_end.message();  // close_notify, not a truncated stream
}

// Three records sent at once: after the first one-byte read OpenSSL holds the rest (holds_input), and the reads
// get every byte; a client that closes without close_notify reads as stream_truncated, one that sends it as eof.
TEST_P(TlsStream, HoldsInputAndTellsTruncationFromCloseNotify) {
    for (const bool clean : {false, true}) {
        SCOPED_TRACE(clean ? "close_notify" : "FIN only");
        if (clean) connect_pair();  // a fresh pair for the second round
        std::string got;
        bool held_after_first = false;
        error_code end;
        run([&]() -> net::awaitable<void> {
                auto& s = *server_;
                co_await s.async_handshake(net::ssl::stream_base::server, use_tuple);
                char c;
                auto [ec, n] = co_await s.async_read_some(net::buffer(&c, 1), use_tuple);
                got.append(&c, n);
                held_after_first = holds_input(s);
                if (held_after_first) {  // the synchronous read of what OpenSSL holds (the tunnel's) never waits
                    n = s.read_some(net::buffer(&c, 1), ec);
                    EXPECT_FALSE(ec) << ec.message();
                    got.append(&c, n);
                }
                for (;;) {
                    std::tie(ec, n) = co_await s.async_read_some(net::buffer(&c, 1), use_tuple);
                    if (ec) break;
                    got.append(&c, n);
                }
                end = ec;
                s.next_layer().close();  // ends the client's wait for a close_notify in return
            },
            [&]() -> net::awaitable<void> {
                co_await client_handshake();
                const std::string records[] = {"abc", "def", "ghi"};
                for (const auto& r : records) SSL_write(client_->native_handle(), r.data(), int(r.size()));
                co_await net::async_write(*client_, net::buffer(std::string("j")), use_tuple);
                if (clean) co_await client_->async_shutdown(use_tuple);
                else client_->next_layer().shutdown(tcp::socket::shutdown_send);
            });
        EXPECT_EQ(got, "abcdefghij");
        if (GetParam() == tls_io::direct) {
            EXPECT_TRUE(held_after_first);
            EXPECT_EQ(SSL_get_read_ahead(server_->native_handle()), 1);  // one recv takes every record there
        }
        EXPECT_EQ(end, clean ? error_code(net::error::eof) : error_code(net::ssl::error::stream_truncated)) << end.message();
    }
}

// A response's head and body pieces (empty ones between) written by eager_write reach the client as one TLS record:
// Asio's client returns one record per read, so its first read gets them all (before, head and body were a record
// each, and a send each). A sequence longer than a record goes in records of 16 KiB.
TEST_P(TlsStream, EagerWriteSendsSmallPiecesAsOneRecord) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", big = pattern_of(40000);
    std::string first_read, rest;
    run([&]() -> net::awaitable<void> {
            auto& s = *server_;
            co_await s.async_handshake(net::ssl::stream_base::server, use_tuple);
            const std::array<net::const_buffer, 4> pieces{net::buffer(head), net::const_buffer(), net::buffer("hello", 5),
                                                          net::buffer(big)};
            auto [ec, n] = co_await eager_write(s, std::array<net::const_buffer, 3>{pieces[0], pieces[1], pieces[2]});
            EXPECT_FALSE(ec) << ec.message();
            EXPECT_EQ(n, head.size() + 5);
            std::tie(ec, n) = co_await eager_write(s, std::array<net::const_buffer, 2>{pieces[2], pieces[3]});
            EXPECT_EQ(n, 5 + big.size());
            co_await s.async_shutdown(use_tuple);
        },
        [&]() -> net::awaitable<void> {
            co_await client_handshake();
            char buf[65536];
            auto [ec, n] = co_await client_->async_read_some(net::buffer(buf), use_tuple);
            first_read.assign(buf, n);
            for (;;) {
                std::tie(ec, n) = co_await client_->async_read_some(net::buffer(buf), use_tuple);
                EXPECT_LE(n, tls_record_payload);
                rest.append(buf, n);
                if (ec) break;
            }
            co_await client_->async_shutdown(use_tuple);
        });
    EXPECT_EQ(first_read, head + "hello");
    EXPECT_TRUE(rest == "hello" + big) << rest.size();
}

INSTANTIATE_TEST_SUITE_P(Modes, TlsStream, ::testing::Values(tls_io::direct, tls_io::asio),
                         [](const auto& info) { return info.param == tls_io::direct ? "direct" : "asio"; });

}  // namespace
