// The WebSocket echo node of the integration tests.
#include "websocket_node.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::size_t max_message = 32 * 1024 * 1024;

/// Echoes messages until the WebSocket ends; true when it ended with the client's close frame.
bool echo(websocket::stream<tcp::socket>& ws, const std::string& name) {
    beast::flat_buffer buffer;
    for (;;) {
        error_code ec;
        ws.read(buffer, ec);
        if (ec) return ec == websocket::error::closed;
        const bool text = ws.got_text();
        const std::string message = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        if (text && message == "close") {
            ws.close(websocket::close_reason(websocket::close_code::normal, "bye"), ec);
            return false;
        }
        ws.text(text);
        ws.write(net::buffer(text && message == "whoami" ? "node=" + name : message), ec);
        if (ec) return false;
    }
}

http::response<http::string_body> plain_answer(const http::request<http::string_body>& req, unsigned status,
                                                std::string body) {
    http::response<http::string_body> res{http::int_to_status(status), 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
}

/// NocoBase's health answer while it upgrades.
constexpr std::string_view starting_body =
    R"({"error":{"status":503,"maintaining":true,"message":"load plugin [auth], 9/77","code":"APP_COMMANDING",)"
    R"("command":{"name":"upgrade"}}})";

}  // namespace

websocket_node::websocket_node(std::string name) : name_(std::move(name)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error("websocket_node: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

websocket_node::~websocket_node() { stop(); }

std::string websocket_node::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> websocket_node::heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
}

void websocket_node::accept_loop() {
    while (!stopping_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;  // wakes every 50 ms to see stop()
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard lock(mutex_);
        if (stopping_.load()) {
            ::close(fd);
            break;
        }
        auto c = std::make_unique<connection>();
        c->fd = fd;
        c->thread = std::thread([this, fd] { serve(fd); });
        connections_.push_back(std::move(c));
    }
}

void websocket_node::serve(int fd) {
    // The thread works on a duplicate; the original fd stays for stop()'s shutdown, so the connection is shut down
    // here when the thread ends (closing the duplicate alone would not end it).
    struct end_connection {
        int fd;
        ~end_connection() { ::shutdown(fd, SHUT_RDWR); }
    } at_end{fd};
    net::io_context io;  // never run: the sockets are used synchronously
    tcp::socket socket(io);
    error_code ec;
    socket.assign(tcp::v4(), ::dup(fd), ec);
    if (ec) return;
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec) return;
        if (req.target() == "/api/__health_check") {  // NocoBase's health path: not counted, not recorded
            const bool starting = starting_.load();
            auto res = plain_answer(req, starting ? 503 : 200, std::string(starting ? starting_body : "ok"));
            if (starting) res.set(http::field::content_type, "application/json");
            http::write(socket, res, ec);
            if (ec || !req.keep_alive()) return;
            continue;
        }
        ++requests_;
        {
            std::ostringstream head;
            head << req.base();
            std::lock_guard lock(mutex_);
            heads_.push_back(head.str());
        }
        if (websocket::is_upgrade(req) && req.target() != "/refuse") {
            websocket::stream<tcp::socket> ws(std::move(socket));
            ws.read_message_max(max_message);
            ws.accept(req, ec);
            if (ec) return;
            ++upgrades_;
            ++open_;
            if (echo(ws, name_)) ++client_closes_;
            --open_;
            return;
        }
        const bool refuse = websocket::is_upgrade(req);
        auto res = plain_answer(req, refuse ? 403 : 200, refuse ? "refused by node" : "node=" + name_);
        http::write(socket, res, ec);
        if (ec || !req.keep_alive()) return;
    }
}

void websocket_node::stop() {
    if (stopping_.exchange(true)) return;
    if (acceptor_.joinable()) acceptor_.join();
    std::list<std::unique_ptr<connection>> connections;
    {
        std::lock_guard lock(mutex_);
        connections.swap(connections_);
    }
    for (auto& c : connections) ::shutdown(c->fd, SHUT_RDWR);  // wakes a blocked read
    for (auto& c : connections) {
        if (c->thread.joinable()) c->thread.join();
        ::close(c->fd);
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
}

}  // namespace gatehouse::test
