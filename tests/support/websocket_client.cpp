// The WebSocket client of the integration tests: Beast's asynchronous operations on a private io_context, each run
// for at most the timeout.
#include "websocket_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <stdexcept>

namespace gatehouse::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct websocket_client::impl {
    net::io_context io;
    websocket::stream<tcp::socket> ws{io};
    beast::flat_buffer buffer;
    std::chrono::milliseconds timeout;
    websocket::response_type handshake_response;

    /// Starts `op(handler)` and runs the context until it completes or `limit` passes (then the socket closes and
    /// the operation ends with operation_aborted). Returns the operation's error, or timed_out.
    template <class Op>
    error_code run(Op op, std::chrono::milliseconds limit) {
        bool done = false;
        error_code result;
        op([&](error_code ec, std::size_t = 0) {
            done = true;
            result = ec;
        });
        io.restart();
        io.run_for(limit);
        if (done) return result;
        error_code ignored;
        beast::get_lowest_layer(ws).close(ignored);
        io.restart();
        io.run_for(std::chrono::seconds(5));
        return net::error::timed_out;
    }
};

websocket_client::websocket_client(std::uint16_t port, std::string_view target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
    impl_->timeout = timeout;
    auto& s = *impl_;
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    if (auto ec = s.run([&](auto h) { beast::get_lowest_layer(s.ws).async_connect(ep, h); }, timeout))
        throw std::runtime_error("websocket_client: connect: " + ec.message());
    s.ws.read_message_max(32 * 1024 * 1024);
    const std::string host = "127.0.0.1:" + std::to_string(port);
    const std::string path(target);
    if (auto ec = s.run([&](auto h) { s.ws.async_handshake(s.handshake_response, host, path, h); }, timeout)) {
        throw std::runtime_error("websocket_client: handshake: " + ec.message() + " (HTTP status " +
                                 std::to_string(s.handshake_response.result_int()) + ")");
    }
}

websocket_client::~websocket_client() = default;

void websocket_client::set_timeout(std::chrono::milliseconds timeout) noexcept { impl_->timeout = timeout; }

void websocket_client::send(std::string_view message, bool binary) {
    auto& s = *impl_;
    s.ws.binary(binary);
    if (auto ec = s.run([&](auto h) { s.ws.async_write(net::buffer(message.data(), message.size()), h); }, s.timeout))
        throw std::runtime_error("websocket_client: write: " + ec.message());
}

std::string websocket_client::read() {
    auto& s = *impl_;
    if (auto ec = s.run([&](auto h) { s.ws.async_read(s.buffer, h); }, s.timeout))
        throw std::runtime_error("websocket_client: read: " + ec.message());
    std::string message = beast::buffers_to_string(s.buffer.data());
    s.buffer.consume(s.buffer.size());
    return message;
}

websocket_end websocket_client::read_end(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return websocket_end::timeout;
        const auto ec = s.run([&](auto h) { s.ws.async_read(s.buffer, h); }, left);
        s.buffer.consume(s.buffer.size());
        if (!ec) continue;
        if (ec == websocket::error::closed) return websocket_end::close_frame;
        if (ec == net::error::timed_out) return websocket_end::timeout;
        return websocket_end::connection;
    }
}

std::string websocket_client::close_reason() const {
    const auto& reason = impl_->ws.reason().reason;
    return std::string(reason.data(), reason.size());
}

void websocket_client::close() {
    auto& s = *impl_;
    if (auto ec = s.run([&](auto h) { s.ws.async_close(websocket::close_code::normal, h); }, s.timeout))
        throw std::runtime_error("websocket_client: close: " + ec.message());
}

}  // namespace gatehouse::test
