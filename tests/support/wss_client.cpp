// The wss client of the integration tests: Beast's WebSocket stream on Asio's TLS stream, each asynchronous operation
// run on a private io_context for at most the timeout.
#include "wss_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <stdexcept>

namespace gatehouse::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct wss_client::impl {
    net::io_context io;
    net::ssl::context ctx{net::ssl::context::tls_client};
    websocket::stream<net::ssl::stream<tcp::socket>> ws{io, ctx};
    beast::flat_buffer buffer;
    std::chrono::milliseconds timeout;
    bool close_notify = false;

    /// Runs `op(handler)` until it completes or the timeout passes (then the socket closes); throws on failure.
    template <class Op>
    void run(const char* what, Op op) {
        bool done = false;
        error_code result;
        op([&](error_code ec, std::size_t = 0) {
            done = true;
            result = ec;
        });
        io.restart();
        io.run_for(timeout);
        if (!done) {
            error_code ignored;
            beast::get_lowest_layer(ws).close(ignored);
            io.restart();
            io.run_for(std::chrono::seconds(5));
            result = net::error::timed_out;
        }
        if (result) throw std::runtime_error(std::string("wss_client: ") + what + ": " + result.message());
    }
};

wss_client::wss_client(std::uint16_t port, std::string_view target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
    auto& s = *impl_;
    s.timeout = timeout;
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    s.run("connect", [&](auto h) { beast::get_lowest_layer(s.ws).async_connect(ep, h); });
    s.run("TLS handshake", [&](auto h) { s.ws.next_layer().async_handshake(net::ssl::stream_base::client, h); });
    s.ws.read_message_max(32 * 1024 * 1024);
    const std::string host = "127.0.0.1:" + std::to_string(port), path(target);
    s.run("handshake", [&](auto h) { s.ws.async_handshake(host, path, h); });
}

wss_client::~wss_client() = default;

void wss_client::send(std::string_view message, bool binary) {
    auto& s = *impl_;
    s.ws.binary(binary);
    s.run("write", [&](auto h) { s.ws.async_write(net::buffer(message.data(), message.size()), h); });
}

std::string wss_client::read() {
    auto& s = *impl_;
    s.run("read", [&](auto h) { s.ws.async_read(s.buffer, h); });
    std::string message = beast::buffers_to_string(s.buffer.data());
    s.buffer.consume(s.buffer.size());
    return message;
}

websocket_end wss_client::read_end(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds(0)) return websocket_end::timeout;
        bool done = false;
        error_code result;
        s.ws.async_read(s.buffer, [&](error_code ec, std::size_t) {
            done = true;
            result = ec;
        });
        s.io.restart();
        s.io.run_for(left);
        if (!done) {
            error_code ignored;
            beast::get_lowest_layer(s.ws).close(ignored);
            s.io.restart();
            s.io.run_for(std::chrono::seconds(5));
            return websocket_end::timeout;
        }
        s.buffer.consume(s.buffer.size());
        if (!result) continue;  // a message: dropped
        if (result == websocket::error::closed) return websocket_end::close_frame;
        s.close_notify = result == net::error::eof;  // OpenSSL reads a close_notify as the end of the stream
        return websocket_end::connection;
    }
}

bool wss_client::ended_with_close_notify() const noexcept { return impl_->close_notify; }

void wss_client::close() {
    auto& s = *impl_;
    s.run("close", [&](auto h) { s.ws.async_close(websocket::close_code::normal, h); });
}

}  // namespace gatehouse::test
