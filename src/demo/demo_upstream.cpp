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

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace gatehouse::demo {

struct demo_upstreams::node_state {
    std::string name;
    std::string address;
    tcp::acceptor acceptor;
    std::uint64_t accepted = 0;  ///< connections accepted so far (one thread serves every node)

    node_state(net::io_context& ctx, std::string n, const tcp::endpoint& ep) : name(std::move(n)), acceptor(ctx) {
        address = ep.address().to_string() + ":" + std::to_string(ep.port());
        error_code ec;
        acceptor.open(ep.protocol(), ec);
        if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor.bind(ep, ec);
        if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) throw std::system_error(ec, "demo node " + name + " cannot listen on " + address);
    }
};

namespace {

constexpr std::size_t max_demo_bytes = 64 * 1024 * 1024;
constexpr std::size_t max_demo_request_body = 1024 * 1024;
constexpr std::size_t chunk_size = 64 * 1024;

/// The body of /bytes/N: N bytes of 'x' as buffers that all point into one shared 64 KiB chunk (no copy per size,
/// nothing kept per request). nullopt when N is not a number or larger than max_demo_bytes.
std::optional<std::vector<net::const_buffer>> bytes_body(std::string_view digits) {
    static const std::string chunk(chunk_size, 'x');
    std::size_t size = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (err != std::errc{} || end != digits.data() + digits.size() || digits.empty() || size > max_demo_bytes)
        return std::nullopt;
    std::vector<net::const_buffer> out;
    for (; size > 0; size -= std::min(size, chunk_size)) out.emplace_back(chunk.data(), std::min(size, chunk_size));
    return out;
}

std::size_t total_size(const std::vector<net::const_buffer>& buffers) {
    std::size_t n = 0;
    for (const auto& b : buffers) n += b.size();
    return n;
}

net::awaitable<void> serve_connection(std::shared_ptr<demo_upstreams::node_state> node, tcp::socket socket) {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    std::string head, text;
    std::vector<net::const_buffer> out;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_demo_request_body);
        auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_tuple);
        if (ec == http::error::body_limit) {
            head = "HTTP/1.1 413 Content Too Large\r\nX-Node: " + node->name +
                   "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            co_await net::async_write(socket, net::buffer(head), use_tuple);
            break;
        }
        if (ec) break;
        const auto& req = parser.get();
        const std::string_view target = req.target();
        const char* status = "200 OK";
        out.assign(1, net::const_buffer());  // the head, below
        if (target == "/api/__health_check") {
            text = "ok";
            out.emplace_back(net::buffer(text));
        } else if (target == "/__demo/connections") {
            text = std::to_string(node->accepted);
            out.emplace_back(net::buffer(text));
        } else if (target.starts_with("/bytes/")) {
            if (auto body = bytes_body(target.substr(7))) {
                out.insert(out.end(), body->begin(), body->end());
            } else {
                status = "400 Bad Request";
                text = "/bytes/N: N is a number of bytes, at most 67108864 (64 MiB)\n";
                out.emplace_back(net::buffer(text));
            }
        } else {
            text = "Hello from " + node->name + " (" + node->address + ")\n" + std::string(req.method_string()) + " " +
                   std::string(target) + "\n";
            out.emplace_back(net::buffer(text));
        }
        const std::size_t length = total_size(out);
        head = std::string("HTTP/1.1 ") + status + "\r\nX-Node: " + node->name +
               "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(length) + "\r\n";
        const bool keep_alive = req.keep_alive();
        head += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
        out.front() = net::buffer(head);
        if (req.method() == http::verb::head) out.resize(1);
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
        ++node->accepted;
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
