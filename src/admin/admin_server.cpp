// Admin connections: read a request, route it, write the answer; keep-alive with a timeout.
#include <gatehouse/admin/admin_server.hpp>

#include <gatehouse/admin/admin_api.hpp>
#include <gatehouse/log/escaped.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/net/endpoints.hpp>
#include <gatehouse/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <map>

namespace gatehouse::admin {
namespace {

// Bounds of their own, so local processes holding connections cannot keep the operator out: at the cap, the
// connection idle the longest makes room (or, when none is idle, the new one is closed at once).
constexpr std::size_t max_connections = 64;
constexpr auto idle_timeout = std::chrono::seconds(5);     // waiting for a request's first byte
constexpr auto request_timeout = std::chrono::seconds(5);  // from a request's first byte to its last
constexpr auto write_timeout = std::chrono::seconds(10);
constexpr auto cap_log_interval = std::chrono::seconds(5);
constexpr std::uint64_t admin_body_limit = 64 * 1024;
constexpr std::uint32_t admin_head_limit = 16 * 1024;

// Every answer: never framed by another page, never sniffed as another type. The status page runs its own inline
// script and style and calls only its own origin; everything else is data and may load nothing.
constexpr const char* page_csp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
constexpr const char* data_csp = "default-src 'none'; frame-ancestors 'none'";

void set_security_headers(http::response<http::string_body>& res, bool page) {
    res.set(http::field::x_frame_options, "DENY");
    res.set("Content-Security-Policy", page ? page_csp : data_csp);
    res.set("X-Content-Type-Options", "nosniff");
}

/// The answer to a request that could not be read (too large or malformed); the connection closes after it.
http::response<http::string_body> unreadable_answer(const error_code& rec) {
    http::response<http::string_body> res;
    res.result(rec == http::error::body_limit ? http::status::payload_too_large : http::status::bad_request);
    res.set(http::field::content_type, "application/json");
    res.body() = rec == http::error::body_limit ? "{\"error\":\"request body larger than 64 KiB\"}\n"
                                                 : "{\"error\":\"malformed HTTP request\"}\n";
    set_security_headers(res, false);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
}

/// What the admin API sees of `req` (its body is moved out).
admin_request to_admin_request(http::request<http::string_body>& req, const std::string& peer, bool loopback,
                               bool metrics_only) {
    admin_request request;
    request.method = req.method();
    request.target = std::string(req.target());
    request.body = std::move(req.body());
    request.authorization = std::string(req[http::field::authorization]);
    request.host = std::string(req[http::field::host]);
    request.origin = std::string(req[http::field::origin]);
    request.peer = peer;
    request.peer_is_loopback = loopback;
    request.metrics_only = metrics_only;
    return request;
}

/// The HTTP response carrying `answer` to `req`.
http::response<http::string_body> answer_response(const http::request<http::string_body>& req,
                                                  const admin_response& answer) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.result(answer.status);
    res.set(http::field::server, std::string("gatehouse/") + version_string);
    res.set(http::field::content_type, answer.content_type);
    res.set(http::field::cache_control, "no-store");
    set_security_headers(res, answer.content_type.starts_with("text/html"));
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    if (req.method() != http::verb::head) res.body() = answer.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) res.content_length(answer.body.size());
    return res;
}

}  // namespace

/// The sockets of open admin connections, so stop() can close them and the cap can pick one to close.
struct admin_server::connections {
    struct entry {
        bool idle = true;      ///< waiting for the first byte of a request
        bool closing = false;  ///< closed to make room; its coroutine has not ended yet
        std::chrono::steady_clock::time_point since{};
    };
    std::map<beast::tcp_stream*, entry> streams;
    std::size_t accepted = 0;  ///< connections accepted and not ended (some may not have started yet)
    bool stopped = false;
    std::chrono::steady_clock::time_point last_cap_log{};

    std::size_t counted() const {
        std::size_t closing = 0;
        for (const auto& [s, e] : streams) closing += e.closing ? 1 : 0;
        return accepted - closing;
    }
    /// At the cap: closes the connection idle the longest; false when every connection is busy.
    bool make_room() {
        beast::tcp_stream* oldest = nullptr;
        for (const auto& [s, e] : streams)
            if (e.idle && !e.closing && (!oldest || e.since < streams.at(oldest).since)) oldest = s;
        if (!oldest) return false;
        streams.at(oldest).closing = true;
        error_code ignored;
        oldest->socket().close(ignored);
        return true;
    }
};

admin_server::admin_server(net::io_context& control, control::controller& controller, bool metrics_only)
    : control_(control), controller_(controller), acceptor_(control), open_(std::make_shared<connections>()),
      metrics_only_(metrics_only) {
    const auto& a = metrics_only ? controller.config().metrics.listen : controller.config().admin.listen;
    const tcp::endpoint ep(net::ip::make_address(a.ip), a.port);
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::system_error(ec, std::string("cannot listen on ") + (metrics_only ? "metrics" : "admin") +
                                        " address " + describe(ep));
}

admin_server::~admin_server() { stop(); }

tcp::endpoint admin_server::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

void admin_server::start() {
    net::co_spawn(control_, accept_loop(), log::on_escape("the admin accept loop"));
}

void admin_server::stop() {
    error_code ignored;
    acceptor_.close(ignored);
    open_->stopped = true;
    for (auto& [s, e] : open_->streams) s->socket().close(ignored);
}

net::awaitable<void> admin_server::accept_loop() {
    const auto open = open_;
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (open->stopped || ec == net::error::operation_aborted) co_return;
        if (ec) {
            net::steady_timer backoff(control_, std::chrono::milliseconds(200));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (open->counted() >= max_connections && !open->make_room()) {
            error_code ignored;
            socket.close(ignored);
            const auto now = std::chrono::steady_clock::now();
            if (now - open->last_cap_log >= cap_log_interval) {
                open->last_cap_log = now;
                log::warning(std::string(metrics_only_ ? "metrics" : "admin") + ": " +
                             std::to_string(max_connections) +
                             " connections busy at once: closing new ones until one ends");
            }
            continue;
        }
        ++open->accepted;
        net::co_spawn(control_, serve(std::move(socket)), log::on_escape("an admin connection"));
    }
}

net::awaitable<void> admin_server::serve(tcp::socket socket) {
    const auto open = open_;
    beast::tcp_stream stream(std::move(socket));
    auto& self = open->streams[&stream];
    struct unregister {
        connections& c;
        beast::tcp_stream* s;
        ~unregister() {
            c.streams.erase(s);
            --c.accepted;
        }
    } guard{*open, &stream};

    error_code ec;
    const auto peer_ep = stream.socket().remote_endpoint(ec);
    const auto peer_address = unmap_v4(peer_ep.address());
    const std::string peer = ec ? "unknown" : peer_address.to_string();
    const bool loopback = !ec && peer_address.is_loopback();

    beast::flat_buffer buffer;
    for (;;) {
        if (buffer.size() == 0) {
            // Idle: the first byte of the next request must come within idle_timeout.
            self.idle = true;
            self.since = std::chrono::steady_clock::now();
            stream.expires_after(idle_timeout);
            auto [iec, got] = co_await stream.async_read_some(buffer.prepare(admin_head_limit), use_tuple);
            if (iec || open->stopped || self.closing) co_return;
            buffer.commit(got);
        }
        self.idle = false;
        http::request_parser<http::string_body> parser;
        parser.header_limit(admin_head_limit);
        parser.body_limit(admin_body_limit);
        stream.expires_after(request_timeout);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (rec == http::error::end_of_stream || open->stopped) co_return;
        if (rec) {
            if (rec == beast::error::timeout || rec == net::error::operation_aborted) co_return;
            auto res = unreadable_answer(rec);
            stream.expires_after(write_timeout);
            co_await http::async_write(stream, res, use_tuple);
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        auto& req = parser.get();
        const auto request = to_admin_request(req, peer, loopback, metrics_only_);
        const auto answer = co_await handle_admin_request(controller_, request);
        if (open->stopped) co_return;
        auto res = answer_response(req, answer);
        stream.expires_after(write_timeout);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !res.keep_alive()) {
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

}  // namespace gatehouse::admin
