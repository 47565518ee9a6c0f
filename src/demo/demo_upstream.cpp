// The built-in demo nodes: a minimal keep-alive HTTP/1.1 server per address.
#include <gatehouse/demo/demo_upstream.hpp>

#include <gatehouse/log/event_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <charconv>
#include <map>
#include <system_error>

namespace gatehouse::demo {

struct demo_upstreams::node_state {
    std::string name;
    std::string address;
    tcp::acceptor acceptor;
    std::map<std::size_t, std::string> byte_bodies;  // /bytes/N bodies, built once

    node_state(net::io_context& ctx, std::string n, const tcp::endpoint& ep) : name(std::move(n)), acceptor(ctx) {
        address = ep.address().to_string() + ":" + std::to_string(ep.port());
        error_code ec;
        acceptor.open(ep.protocol(), ec);
        if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor.bind(ep, ec);
        if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) throw std::system_error(ec, "demo node " + name + " cannot listen on " + address);
    }

    const std::string& bytes_body(std::size_t n) {
        auto it = byte_bodies.find(n);
        if (it == byte_bodies.end()) it = byte_bodies.emplace(n, std::string(n, 'x')).first;
        return it->second;
    }
};

namespace {

constexpr std::size_t max_demo_bytes = 64 * 1024 * 1024;

net::awaitable<void> serve_connection(std::shared_ptr<demo_upstreams::node_state> node, tcp::socket socket) {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    std::string head, text;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_tuple);
        if (ec) break;
        const auto& req = parser.get();
        const std::string_view target = req.target();
        const std::string* body = &text;
        if (target == "/api/__health_check") {
            text = "ok";
        } else if (target.starts_with("/bytes/")) {
            std::size_t size = 0;
            const auto digits = target.substr(7);
            const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
            if (err != std::errc{} || size > max_demo_bytes) size = 0;
            body = &node->bytes_body(size);
        } else {
            text = "Hello from " + node->name + " (" + node->address + ")\n" + std::string(req.method_string()) + " " +
                   std::string(target) + "\n";
        }
        head = "HTTP/1.1 200 OK\r\nX-Node: " + node->name +
               "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
        const bool keep_alive = req.keep_alive();
        head += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
        const std::array<net::const_buffer, 2> out{net::buffer(head),
                                                    net::buffer(body->data(), req.method() == http::verb::head ? 0 : body->size())};
        auto [wec, wn] = co_await net::async_write(socket, out, use_tuple);
        if (wec || !keep_alive) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

net::awaitable<void> accept_loop(std::shared_ptr<demo_upstreams::node_state> node) {
    for (;;) {
        auto [ec, socket] = co_await node->acceptor.async_accept(use_tuple);
        if (ec == net::error::operation_aborted || !node->acceptor.is_open()) co_return;
        if (ec) continue;
        net::co_spawn(node->acceptor.get_executor(), serve_connection(node, std::move(socket)), net::detached);
    }
}

}  // namespace

demo_upstreams::demo_upstreams(std::vector<demo_node> nodes) {
    for (auto& n : nodes) nodes_.push_back(std::make_shared<node_state>(context_, std::move(n.name), n.endpoint));
}

demo_upstreams::~demo_upstreams() { stop(); }

void demo_upstreams::run() {
    for (auto& n : nodes_) net::co_spawn(context_, accept_loop(n), net::detached);
    auto guard = net::make_work_guard(context_);
    context_.run();
}

void demo_upstreams::start() {
    thread_ = std::thread([this] { run(); });
}

void demo_upstreams::stop() {
    context_.stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse::demo
