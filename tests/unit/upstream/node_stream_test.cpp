// A TLS node connection on a real loopback pair (a certificate made by `openssl`): reads through TLS, the pool's
// check before reuse (quiet after TLS 1.3 session tickets; a close_notify, a close or stray bytes: not reusable),
// and a plain connection's socket used as before.
#include <gatehouse/upstream/node_stream.hpp>

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <poll.h>
#include <stdlib.h>

using namespace gatehouse;
namespace ssl = boost::asio::ssl;

namespace {

/// A self-signed server certificate in a temporary directory.
struct certificate {
    std::string dir;
    certificate() {
        std::string templ = "/tmp/gatehouse-unit-XXXXXX";
        dir = ::mkdtemp(templ.data());
        const std::string cmd = "cd '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                                "-nodes -keyout k.pem -out c.pem -days 1 -subj /CN=localhost >/dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
    }
    ~certificate() { std::filesystem::remove_all(dir); }
};

/// A connected TLS pair on 127.0.0.1: `client` is a node_stream (what the pool holds), `server` the node's side.
struct tls_pair {
    certificate cert;
    net::io_context io;
    ssl::context server_ctx{ssl::context::tls_server};
    ssl::context client_ctx{ssl::context::tls_client};
    upstream::node_stream client{io};
    std::unique_ptr<ssl::stream<tcp::socket>> server;

    tls_pair() {
        server_ctx.use_certificate_chain_file(cert.dir + "/c.pem");
        server_ctx.use_private_key_file(cert.dir + "/k.pem", ssl::context::pem);
        tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        client.socket().connect(acceptor.local_endpoint());
        client.socket().non_blocking(true);
        server = std::make_unique<ssl::stream<tcp::socket>>(acceptor.accept(), server_ctx);
        auto& tls = client.start_tls(client_ctx);  // verify_none: this test is about reading, not verifying
        error_code client_ec, server_ec;
        tls.async_handshake(ssl::stream_base::client, [&](error_code ec) { client_ec = ec; });
        server->async_handshake(ssl::stream_base::server, [&](error_code ec) { server_ec = ec; });
        io.run();
        io.restart();
        EXPECT_FALSE(client_ec) << client_ec.message();
        EXPECT_FALSE(server_ec) << server_ec.message();
    }

    /// One request and answer, so the client has read what the server sent after the handshake (tickets).
    void exchange() {
        net::write(*server, net::buffer(std::string_view("answer")));
        std::string got(6, '\0');
        error_code ec;
        net::async_read(client, net::buffer(got), [&](error_code e, std::size_t) { ec = e; });
        io.run();
        io.restart();
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(got, "answer");
    }

    /// Waits until the client's socket is readable (what the server sent has arrived).
    void wait_readable() {
        pollfd p{client.socket().native_handle(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 2000), 1);
    }
};

}  // namespace

// After an exchange the TLS connection is quiet: reusable, and still usable afterwards.
TEST(NodeStream, QuietTlsConnectionIsReusable) {
    tls_pair pair;
    pair.exchange();
    EXPECT_TRUE(upstream::still_open_and_quiet(pair.client));
    pair.exchange();
    EXPECT_TRUE(upstream::still_open_and_quiet(pair.client));
}

// The node's close_notify, a close without one, and stray bytes all make the connection unusable.
TEST(NodeStream, ClosedOrTalkativeTlsConnectionIsNotReusable) {
    {
        tls_pair pair;
        pair.exchange();
        error_code ignored;
        pair.server->next_layer().non_blocking(true);  // the shutdown then does not wait for the client's answer
        pair.server->shutdown(ignored);                   // sends close_notify, then would_block
        pair.wait_readable();
        EXPECT_FALSE(upstream::still_open_and_quiet(pair.client));
    }
    {
        tls_pair pair;
        pair.exchange();
        pair.server->next_layer().close();
        pair.wait_readable();
        EXPECT_FALSE(upstream::still_open_and_quiet(pair.client));
    }
    {
        tls_pair pair;
        pair.exchange();
        net::write(*pair.server, net::buffer(std::string_view("stray")));
        pair.wait_readable();
        EXPECT_FALSE(upstream::still_open_and_quiet(pair.client));
    }
}

// read_now through TLS: would_block while nothing came, the bytes once they did, eof after close_notify or a close.
TEST(NodeStream, ReadNowThroughTls) {
    tls_pair pair;
    pair.exchange();
    char buf[64];
    error_code ec;
    pair.client.read_now(net::buffer(buf), ec);
    EXPECT_EQ(ec, net::error::would_block);
    net::write(*pair.server, net::buffer(std::string_view("hello")));
    pair.wait_readable();
    const auto n = pair.client.read_now(net::buffer(buf), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string_view(buf, n), "hello");
    pair.server->next_layer().close();
    pair.wait_readable();
    pair.client.read_now(net::buffer(buf), ec);
    EXPECT_EQ(ec, net::error::eof) << "a close without close_notify ends the stream like one with it";
}
