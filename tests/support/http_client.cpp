#include "http_client.hpp"

#include "socket_util.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
using clock = std::chrono::steady_clock;

constexpr std::size_t recv_piece = 256 * 1024;

}  // namespace

std::string http_response::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (boost::beast::iequals(n, name)) return v;
    return {};
}

std::size_t http_response::count(std::string_view name) const {
    std::size_t c = 0;
    for (const auto& [n, v] : headers)
        if (boost::beast::iequals(n, name)) ++c;
    return c;
}

std::string http_response::raw_head() const {
    const auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? raw : raw.substr(0, end + 4);
}

client_connection::client_connection(std::uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
    std::string error;
    fd_ = connect_loopback(port, &error);
    if (fd_ < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + error);
}

client_connection::~client_connection() {
    if (fd_ >= 0) ::close(fd_);
}

void client_connection::send(std::string_view bytes) {
    if (!send_all(fd_, bytes.data(), bytes.size()))
        throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
}

bool client_connection::try_send(std::string_view bytes) noexcept { return send_all(fd_, bytes.data(), bytes.size()); }

void client_connection::shutdown_send() noexcept { ::shutdown(fd_, SHUT_WR); }

std::size_t client_connection::receive(clock::time_point deadline) {
    if (eof_) return 0;
    char buf[64 * 1024];
    for (;;) {
        if (!wait_readable(fd_, deadline))
            throw std::runtime_error("timed out after " + std::to_string(timeout_.count()) + " ms waiting for data");
        const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            return static_cast<std::size_t>(n);
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        eof_ = true;  // EOF, or reset
        return 0;
    }
}

http_response client_connection::read_response(bool head_request) {
    return read_response(nullptr, head_request);
}

http_response client_connection::read_response(const std::function<void(const char*, std::size_t)>& on_body,
                                               bool head_request) {
    const auto deadline_for_progress = [&] { return clock::now() + timeout_; };
    auto deadline = deadline_for_progress();
    http_response r;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(1024 * 1024);
    parser.body_limit(boost::none);
    parser.eager(true);
    if (head_request) parser.skip(true);
    auto scratch = std::make_unique<char[]>(recv_piece);
    boost::system::error_code ec;
    bool need_more = in_.empty();
    bool header_seen = false;
    while (!parser.is_done()) {
        if (need_more) {
            if (receive(deadline) == 0) {
                if (!parser.got_some() && in_.empty())
                    throw std::runtime_error("connection closed before a response arrived");
                parser.put_eof(ec);
                if (ec) throw std::runtime_error("connection closed in the middle of a response: " + ec.message());
                break;
            }
            deadline = deadline_for_progress();
            need_more = false;
        }
        parser.get().body().data = scratch.get();
        parser.get().body().size = recv_piece;
        const auto used = parser.put(net::buffer(in_), ec);
        const bool streaming_body = on_body && header_seen;
        if (!streaming_body) r.raw.append(in_, 0, used);
        in_.erase(0, used);
        if (parser.is_header_done()) header_seen = true;
        const std::size_t produced = recv_piece - parser.get().body().size;
        if (produced > 0) {
            r.body_size += produced;
            if (on_body) on_body(scratch.get(), produced);
            else r.body.append(scratch.get(), produced);
        }
        if (ec == http::error::need_buffer) {
            ec = {};
        } else if (ec == http::error::need_more) {
            ec = {};
            need_more = true;
        } else if (ec) {
            throw std::runtime_error("malformed response: " + ec.message() + "; received: " + r.raw.substr(0, 2000));
        } else if (used == 0 && !parser.is_done()) {
            need_more = true;
        }
    }
    const auto& msg = parser.get();
    r.version = msg.version();
    r.status = msg.result_int();
    r.reason = std::string(msg.reason());
    for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.chunked = parser.chunked();
    r.keep_alive = parser.keep_alive();
    return r;
}

bool client_connection::is_closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!eof_) {
        if (!wait_readable(fd_, deadline)) return false;
        char buf[16 * 1024];
        const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            if (in_.size() > 64 * 1024 * 1024) return false;  // a peer that keeps talking is not closing
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        eof_ = true;
    }
    return true;
}

unsigned raw_result::status() const {
    if (data.size() < 12 || data.compare(0, 5, "HTTP/") != 0) return 0;
    const auto space = data.find(' ');
    if (space == std::string::npos || space + 4 > data.size()) return 0;
    unsigned code = 0;
    for (std::size_t i = space + 1; i < space + 4; ++i) {
        if (data[i] < '0' || data[i] > '9') return 0;
        code = code * 10 + static_cast<unsigned>(data[i] - '0');
    }
    return code;
}

raw_result raw_exchange(std::uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout) {
    const auto start = clock::now();
    const auto deadline = start + timeout;
    raw_result r;
    std::string error;
    const int fd = connect_loopback(port, &error);
    if (fd < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + error);
    send_all(fd, bytes.data(), bytes.size());  // the peer may answer and close before taking everything
    char buf[16 * 1024];
    for (;;) {
        if (!wait_readable(fd, deadline)) break;
        const auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            r.data.append(buf, static_cast<std::size_t>(n));
            if (r.data.size() > 64 * 1024 * 1024) break;
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        r.closed = true;
        break;
    }
    ::close(fd);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return r;
}

http_response get(std::uint16_t port, std::string_view target, std::string_view extra_headers, std::string_view host) {
    client_connection c(port);
    std::string request = "GET ";
    request.append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
    request.append(extra_headers).append("\r\n");
    c.send(request);
    return c.read_response();
}

}  // namespace gatehouse::test
