// The TLS front: an Asio TLS server relaying to a plain test node.
#include "tls_front.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <stdexcept>

namespace gatehouse::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct tls_front::impl {
    tls_front& owner;
    std::uint16_t target_port;
    net::io_context io{1};
    ssl::context context{ssl::context::tls_server};
    tcp::acceptor acceptor{io};

    impl(tls_front& o, const tls_front_options& options) : owner(o), target_port(options.target_port) {
        SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
        context.use_certificate_chain_file(options.cert_file);
        context.use_private_key_file(options.key_file, ssl::context::pem);
        if (!options.client_ca_file.empty()) {
            context.load_verify_file(options.client_ca_file);
            context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
        }
        const tcp::endpoint local(net::ip::make_address("127.0.0.1"), 0);
        acceptor.open(local.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(local);
        acceptor.listen();
    }

    /// Copies `from` to `to` until either ends; then both connections close.
    template <class From, class To>
    static net::awaitable<void> relay(From& from, To& to, tcp::socket& a, tcp::socket& b) {
        char buffer[16 * 1024];
        for (;;) {
            auto [ec, n] = co_await from.async_read_some(net::buffer(buffer), use_tuple);
            if (ec) break;
            auto [wec, wn] = co_await net::async_write(to, net::buffer(buffer, n), use_tuple);
            if (wec) break;
        }
        error_code ignored;
        a.close(ignored);
        b.close(ignored);
    }

    net::awaitable<void> serve(tcp::socket socket) {
        auto stream = std::make_shared<ssl::stream<tcp::socket>>(std::move(socket), context);
        auto [hec] = co_await stream->async_handshake(ssl::stream_base::server, use_tuple);
        if (hec) {
            ++owner.failed_;
            co_return;
        }
        const char* name = SSL_get_servername(stream->native_handle(), TLSEXT_NAMETYPE_host_name);
        {
            std::lock_guard lock(owner.mutex_);
            owner.server_names_.emplace_back(name ? name : "");
        }
        ++owner.handshakes_;
        auto node = std::make_shared<tcp::socket>(io);
        auto [cec] = co_await node->async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), target_port),
                                                  use_tuple);
        if (cec) co_return;
        net::co_spawn(io, [stream, node]() -> net::awaitable<void> {
            co_await relay(*node, *stream, *node, stream->next_layer());
        }, net::detached);
        co_await relay(*stream, *node, *node, stream->next_layer());
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec) co_return;
            net::co_spawn(io, serve(std::move(socket)), net::detached);
        }
    }
};

tls_front::tls_front(tls_front_options options) : impl_(std::make_unique<impl>(*this, options)) {
    port_ = impl_->acceptor.local_endpoint().port();
    net::co_spawn(impl_->io, impl_->accept_loop(), net::detached);
    thread_ = std::thread([this] { impl_->io.run(); });
}

tls_front::~tls_front() { stop(); }

void tls_front::stop() {
    if (!thread_.joinable()) return;
    impl_->io.stop();
    thread_.join();
}

std::vector<std::string> tls_front::server_names() const {
    std::lock_guard lock(mutex_);
    return server_names_;
}

}  // namespace gatehouse::test
