#include "scripted_node.hpp"

#include "socket_util.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {

namespace {

constexpr int socket_timeout_s = 60;  // bounds every blocking call; stop() wakes them earlier
constexpr std::size_t max_request = 1024 * 1024;

/// The Content-Length of a raw head (0 when absent).
std::size_t content_length(std::string_view head) {
    std::string lower(head);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return static_cast<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
}

}  // namespace

bool scripted_reply::send(std::string_view bytes) { return send_all(fd_, bytes); }

void step_gate::open(unsigned k) {
    {
        std::lock_guard lock(mutex_);
        if (k > opened_) opened_ = k;
    }
    changed_.notify_all();
}

bool step_gate::wait(unsigned k, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return opened_ >= k; });
}

unsigned step_gate::opened() const {
    std::lock_guard lock(mutex_);
    return opened_;
}

scripted_node::scripted_node(handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string error = std::strerror(errno);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error("scripted_node: cannot listen: " + error);
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

scripted_node::~scripted_node() { stop(); }

std::string scripted_node::address() const { return "127.0.0.1:" + std::to_string(port_); }

void scripted_node::stop() {
    if (stopping_.exchange(true)) return;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    std::list<std::unique_ptr<connection>> all;
    {
        std::lock_guard lock(mutex_);
        for (auto& c : connections_) ::shutdown(c->fd, SHUT_RDWR);
        all.swap(connections_);
    }
    for (auto& c : all) {
        if (c->thread.joinable()) c->thread.join();
        ::close(c->fd);
    }
}

void scripted_node::accept_loop() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopping_) return;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        std::lock_guard lock(mutex_);
        if (stopping_) {
            ::close(fd);
            return;
        }
        auto c = std::make_unique<connection>();
        c->fd = fd;
        auto* raw = c.get();
        connections_.push_back(std::move(c));
        raw->thread = std::thread([this, raw] { serve(raw); });
    }
}

void scripted_node::serve(connection* c) {
    const int fd = c->fd;
    const timeval tv{socket_timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string in;
    char buf[64 * 1024];
    const auto receive = [&] {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in.append(buf, static_cast<std::size_t>(n));
        return in.size() <= max_request;
    };
    while (!stopping_) {
        std::size_t end;
        while ((end = in.find("\r\n\r\n")) == std::string::npos)
            if (!receive()) return;
        scripted_request request;
        request.head = in.substr(0, end + 4);
        in.erase(0, end + 4);
        const auto length = content_length(request.head);
        while (in.size() < length)
            if (!receive()) return;
        request.body = in.substr(0, length);
        in.erase(0, length);
        const auto space = request.head.find(' ');
        request.method = request.head.substr(0, space);
        request.target = request.head.substr(space + 1, request.head.find(' ', space + 1) - space - 1);
        ++requests_;
        scripted_reply reply(fd);
        handler_(request, reply);
        if (reply.closing()) {
            ::shutdown(fd, SHUT_WR);
            while (receive()) {  // until the proxy closes its side too
            }
            return;
        }
    }
}

std::string fixed_answer(std::string_view fields, std::string_view body, unsigned status) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
    out.append(fields).append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    out.append(body);
    return out;
}

std::string chunk_of(std::string_view data) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string out = size;
    out.append(data).append("\r\n");
    return out;
}

}  // namespace gatehouse::test
