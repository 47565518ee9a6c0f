#include "test_upstream.hpp"

#include "socket_util.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;

constexpr std::size_t max_head = 64 * 1024;
constexpr std::size_t max_records = 1000;
constexpr std::size_t body_record_limit = 4 * 1024;
constexpr std::size_t echo_limit = 16 * 1024 * 1024;
constexpr std::size_t io_piece = 256 * 1024;
constexpr std::size_t download_piece = 64 * 1024;
constexpr std::size_t chunk_piece = 1000;
constexpr int socket_timeout_s = 120;  // bounds every blocking call; stop() wakes them earlier

/// 64 KiB + 26 pattern bytes: any 64 KiB piece of the pattern starts at offset % 26 of this block.
const std::string& pattern_block() {
    static const std::string block = [] {
        std::string s(download_piece + 26, '\0');
        for (std::size_t i = 0; i < s.size(); ++i) s[i] = pattern_byte(i);
        return s;
    }();
    return block;
}

bool parse_number(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

/// What a NocoBase node answers to everything while it upgrades.
std::string starting_answer() {
    const std::string body = R"({"error":{"status":503,"maintaining":true,"message":"upgrading","code":"APP_COMMANDING","command":{"name":"upgrade"}}})";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string reason_of(unsigned status) {
    const auto r = http::obsolete_reason(http::int_to_status(status));
    return r.empty() || r == "<unknown-status>" ? std::string("Status") : std::string(r);
}

}  // namespace

std::string pattern(std::uint64_t offset, std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = pattern_byte(offset + i);
    return s;
}

bool matches_pattern(std::uint64_t offset, const char* data, std::size_t n) noexcept {
    const auto& block = pattern_block();
    while (n > 0) {
        const std::size_t piece = std::min(n, download_piece);
        if (std::memcmp(data, block.data() + offset % 26, piece) != 0) return false;
        data += piece;
        n -= piece;
        offset += piece;
    }
    return true;
}

test_upstream::test_upstream(upstream_options options) : options_(std::move(options)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error(std::string("test_upstream: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(options_.port);
    if (::inet_pton(AF_INET, options_.ip.c_str(), &addr.sin_addr) != 1)
        throw std::runtime_error("test_upstream: not an IPv4 address: " + options_.ip);
    socklen_t len = sizeof addr;
    {
        // Like Node (libuv): a node restarted on its port (options_.port) must not be refused because connections
        // of its previous listener linger (TIME_WAIT, FIN_WAIT2); their sockets inherit this flag.
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string error = std::strerror(errno);
        ::close(listen_fd_);
        throw std::runtime_error("test_upstream: cannot listen on " + options_.ip + ":" + std::to_string(options_.port) + ": " +
                                 error);
    }
    port_ = ntohs(addr.sin_port);
    pattern_block();  // built before any connection thread needs it
    acceptor_ = std::thread([this] { accept_loop(); });
}

test_upstream::~test_upstream() { stop(); }

std::string test_upstream::address() const { return options_.ip + ":" + std::to_string(port_); }

std::size_t test_upstream::open_connections() const {
    std::lock_guard lock(connections_mutex_);
    std::size_t n = 0;
    for (const auto& c : connections_)
        if (!c->done) ++n;
    return n;
}

std::vector<std::string> test_upstream::heads() const {
    std::lock_guard lock(records_mutex_);
    return {heads_.begin(), heads_.end()};
}

std::string test_upstream::last_head() const {
    std::lock_guard lock(records_mutex_);
    return heads_.empty() ? std::string() : heads_.back();
}

bool test_upstream::received(std::string_view needle) const {
    std::lock_guard lock(records_mutex_);
    for (const auto& h : heads_)
        if (h.find(needle) != std::string::npos) return true;
    for (const auto& b : bodies_)
        if (b.find(needle) != std::string::npos) return true;
    return false;
}

bool test_upstream::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(records_mutex_);
    return records_changed_.wait_for(lock, timeout, [&] { return requests_.load() >= n; });
}

void test_upstream::record_head(std::string head) {
    {
        std::lock_guard lock(records_mutex_);
        heads_.push_back(std::move(head));
        if (heads_.size() > max_records) heads_.pop_front();
        ++requests_;
    }
    records_changed_.notify_all();
}

void test_upstream::record_body(std::string body_prefix) {
    if (body_prefix.empty()) return;
    std::lock_guard lock(records_mutex_);
    bodies_.push_back(std::move(body_prefix));
    if (bodies_.size() > max_records) bodies_.pop_front();
}

bool test_upstream::sleep_unless_stopped(std::chrono::milliseconds d) {
    std::unique_lock lock(stop_mutex_);
    return !stop_cv_.wait_for(lock, d, [&] { return stopping_.load(); });
}

void test_upstream::stop() {
    {
        std::lock_guard lock(stop_mutex_);
        if (stopping_.exchange(true)) return;
    }
    stop_cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes the blocking accept
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::list<std::unique_ptr<connection>> all;
    {
        std::lock_guard lock(connections_mutex_);
        for (auto& c : connections_)
            if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);  // wakes blocking recv/send
        all.swap(connections_);
    }
    for (auto& c : all)
        if (c->thread.joinable()) c->thread.join();
}

void test_upstream::accept_loop() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopping_) return;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                sleep_unless_stopped(std::chrono::milliseconds(10));
                continue;
            }
            return;
        }
        std::lock_guard lock(connections_mutex_);
        if (stopping_) {
            ::close(fd);
            return;
        }
        for (auto it = connections_.begin(); it != connections_.end();) {
            if ((*it)->done) {
                if ((*it)->thread.joinable()) (*it)->thread.join();
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
        ++accepted_;
        auto c = std::make_unique<connection>();
        c->fd = fd;
        auto* raw = c.get();
        connections_.push_back(std::move(c));
        raw->thread = std::thread([this, raw] { serve(raw); });
    }
}

void test_upstream::serve(connection* c) {
    const int fd = c->fd;
    const timeval tv{socket_timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    std::string in;  // received, not yet used
    auto io = std::make_unique<char[]>(io_piece);
    auto scratch = std::make_unique<char[]>(io_piece);
    const auto recv_more = [&]() -> bool {
        for (;;) {
            const auto n = ::recv(fd, io.get(), io_piece, 0);
            if (n > 0) {
                in.append(io.get(), static_cast<std::size_t>(n));
                return true;
            }
            if (n < 0 && errno == EINTR) continue;
            return false;  // EOF, reset, timeout or stop()
        }
    };

    bool open = true;
    std::size_t served = 0;  // requests on this connection
    while (open && !stopping_) {
        if (in.empty() && options_.idle_close.count() > 0) {
            pollfd p{fd, POLLIN, 0};
            int rc;
            do {
                rc = ::poll(&p, 1, static_cast<int>(options_.idle_close.count()));
            } while (rc < 0 && errno == EINTR);
            if (rc == 0) break;  // idle longer than idle_close: close it, like Node's keepAliveTimeout
        }

        // The head, raw, up to CRLF CRLF.
        std::size_t end = std::string::npos;
        while ((end = in.find("\r\n\r\n")) == std::string::npos) {
            if (in.size() > max_head) {
                send_all(fd, "HTTP/1.1 431 Request Header Fields Too Large\r\nX-Node: " + options_.name +
                                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                open = false;
                break;
            }
            if (!recv_more()) {
                open = false;
                break;
            }
        }
        if (!open) break;
        const std::string head = in.substr(0, end + 4);
        in.erase(0, end + 4);
        const auto mode = health_.load();
        if (starts_with(head, "GET /api/__health_check ")) {
            ++health_checks_;
            if (mode == health_mode::hang) {
                while (recv_more()) {
                }
                break;
            }
            if (mode == health_mode::error500) send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror");
            else if (mode == health_mode::ok) send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            else send_all(fd, starting_answer());
            break;
        }
        record_head(head);
        if (mode == health_mode::starting) {
            send_all(fd, starting_answer());
            break;
        }
        if (options_.drop_reused && ++served > 1) break;

        http::request_parser<http::buffer_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(max_head + 1024));
        parser.body_limit(boost::none);
        parser.eager(true);
        boost::system::error_code ec;
        parser.put(net::buffer(head), ec);
        if (ec || !parser.is_header_done()) {
            send_all(fd, "HTTP/1.1 400 Bad Request\r\nX-Node: " + options_.name +
                             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            break;
        }
        const auto& req = parser.get();
        const std::string target(req.target());
        const std::string path = target.substr(0, target.find('?'));
        const bool head_request = req.method() == http::verb::head;
        const bool http10 = req.version() < 11;

        if (!parser.is_done() && boost::beast::iequals(req[http::field::expect], "100-continue"))
            if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) break;

        // The body, streamed: counted, its first 4 KiB recorded, kept whole only for /echo (up to 16 MiB).
        const bool echo = path == "/echo";
        std::uint64_t body_bytes = 0;
        std::string body_prefix, echoed;
        bool echo_overflow = false, body_failed = false, need_more = false;
        while (!parser.is_done()) {
            if (in.empty() || need_more) {
                if (!recv_more()) {
                    parser.put_eof(ec);
                    body_failed = true;
                    break;
                }
                need_more = false;
            }
            parser.get().body().data = scratch.get();
            parser.get().body().size = io_piece;
            const auto used = parser.put(net::buffer(in), ec);
            in.erase(0, used);
            const std::size_t produced = io_piece - parser.get().body().size;
            if (produced > 0) {
                body_bytes += produced;
                if (body_prefix.size() < body_record_limit)
                    body_prefix.append(scratch.get(), std::min(produced, body_record_limit - body_prefix.size()));
                if (echo && !echo_overflow) {
                    if (echoed.size() + produced > echo_limit) {
                        echo_overflow = true;
                        echoed = std::string();
                    } else {
                        echoed.append(scratch.get(), produced);
                    }
                }
            }
            if (ec == http::error::need_buffer) {
                ec = {};
            } else if (ec == http::error::need_more) {
                ec = {};
                need_more = true;
            } else if (ec) {
                body_failed = true;
                break;
            }
        }
        record_body(std::move(body_prefix));
        if (body_failed) {
            if (ec && ec != http::error::partial_message)
                send_all(fd, "HTTP/1.1 400 Bad Request\r\nX-Node: " + options_.name +
                                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            break;
        }

        if (options_.delay_all.count() > 0 && !sleep_unless_stopped(options_.delay_all)) break;

        // The answer.
        bool close = !parser.keep_alive();
        const auto connection_field = [&] {
            if (close) return std::string("Connection: close\r\n");
            return http10 ? std::string("Connection: keep-alive\r\n") : std::string();
        };
        const auto status_line = [&](unsigned status) {
            return "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\nX-Node: " + options_.name +
                   "\r\n";
        };
        const auto fixed = [&](unsigned status, const std::string& body,
                               const std::string& fields = "Content-Type: text/plain\r\n") {
            std::string out = status_line(status) + fields + "Content-Length: " + std::to_string(body.size()) +
                              "\r\n" + connection_field() + "\r\n";
            if (!head_request) out += body;
            return send_all(fd, out);
        };
        const auto send_pattern = [&](std::uint64_t n) {
            const auto& block = pattern_block();
            for (std::uint64_t off = 0; off < n;) {
                const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(download_piece, n - off));
                if (!send_all(fd, block.data() + off % 26, piece)) return false;
                off += piece;
            }
            return true;
        };

        std::uint64_t n = 0;
        bool ok = true;
        if (path == "/echo") {
            ok = echo_overflow ? (close = true, fixed(413, "echo body over 16 MiB\n"))
                               : fixed(200, echoed, "Content-Type: application/octet-stream\r\n");
        } else if (path == "/count") {
            ok = fixed(200, "bytes=" + std::to_string(body_bytes));
        } else if (starts_with(path, "/download/") && parse_number(path.substr(10), n)) {
            ok = send_all(fd, status_line(200) + "Content-Type: application/octet-stream\r\nContent-Length: " +
                                  std::to_string(n) + "\r\n" + connection_field() + "\r\n");
            if (ok && !head_request) ok = send_pattern(n);
        } else if (starts_with(path, "/chunked/") && parse_number(path.substr(9), n)) {
            if (head_request) {
                ok = send_all(fd, status_line(200) + "Content-Type: application/octet-stream\r\nContent-Length: " +
                                      std::to_string(n) + "\r\n" + connection_field() + "\r\n");
            } else {
                std::string out = status_line(200) +
                                  "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n" +
                                  connection_field() + "\r\n";
                char size_line[32];
                for (std::uint64_t off = 0; ok && off < n;) {
                    const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_piece, n - off));
                    const int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece);
                    out.append(size_line, static_cast<std::size_t>(len));
                    out.append(pattern_block().data() + off % 26, piece);
                    out.append("\r\n");
                    off += piece;
                    if (out.size() >= download_piece) {
                        ok = send_all(fd, out);
                        out.clear();
                    }
                }
                out.append("0\r\n\r\n");
                ok = ok && send_all(fd, out);
            }
        } else if (path == "/trailers") {
            static constexpr std::string_view body = "hello, trailer world";
            if (head_request) {
                ok = send_all(fd, status_line(200) + "Content-Type: text/plain\r\nTrailer: X-Checksum\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n" + connection_field() + "\r\n");
            } else {
                ok = send_all(fd, status_line(200) +
                                      "Content-Type: text/plain\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n" +
                                      connection_field() +
                                      "\r\n7\r\nhello, \r\n8\r\ntrailer \r\n5\r\nworld\r\n0\r\nX-Checksum: abc\r\n\r\n");
            }
        } else if (starts_with(path, "/eof/") && parse_number(path.substr(5), n)) {
            if (head_request) {
                ok = send_all(fd, status_line(200) + "Content-Type: application/octet-stream\r\nContent-Length: " +
                                      std::to_string(n) + "\r\n" + connection_field() + "\r\n");
            } else {
                ok = send_all(fd, status_line(200) + "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n") &&
                     send_pattern(n);
                ::shutdown(fd, SHUT_WR);  // the end of the body
                close = true;
            }
        } else if (starts_with(path, "/truncated/") && parse_number(path.substr(11), n)) {
            // Promises n bytes, sends half of them, then closes: a node dying mid-body.
            ok = send_all(fd, status_line(200) + "Content-Type: application/octet-stream\r\nContent-Length: " +
                                  std::to_string(n) + "\r\n\r\n") &&
                 (head_request || send_pattern(n / 2));
            close = true;
        } else if (starts_with(path, "/stray/") && parse_number(path.substr(7), n)) {
            // A buggy node: answers, then MS ms later writes a whole unasked-for response on the same connection.
            ok = fixed(200, "first") && sleep_unless_stopped(std::chrono::milliseconds(n)) &&
                 send_all(fd, status_line(200) + "Content-Length: 6\r\n\r\nSTRAY!");
            // Counted once it is in the peer's receive queue, so a test can wait for that.
            if (ok && wait_delivered(fd, std::chrono::steady_clock::now() + std::chrono::seconds(1))) ++strays_sent_;
        } else if (starts_with(path, "/slow/") && parse_number(path.substr(6), n)) {
            ok = sleep_unless_stopped(std::chrono::milliseconds(n)) && fixed(200, "slow");
        } else if (starts_with(path, "/status/") && parse_number(path.substr(8), n) && n >= 200 && n <= 599) {
            const auto status = static_cast<unsigned>(n);
            if (status == 204 || status == 304) {
                ok = send_all(fd, status_line(status) + connection_field() + "\r\n");
            } else {
                ok = fixed(status, "status=" + std::to_string(status) + "\n");
            }
        } else if (path == "/headers" || starts_with(path, "/headers/")) {
            ok = fixed(200, head);
        } else if (path == "/reflect") {
            std::string fields = "Content-Type: text/plain\r\n";
            for (const auto& f : req) {
                const auto name = f.name_string();
                if (boost::beast::iequals(name, "x-reflect-connection"))  // sent back as Connection
                    fields.append("Connection: ").append(f.value()).append("\r\n");
                else if (name.size() > 10 && boost::beast::iequals(name.substr(0, 10), "x-reflect-"))
                    fields.append(name).append(": ").append(f.value()).append("\r\n");
            }
            fields += "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nCache-Control: no-cache, private\r\n"
                      "X-Upstream-Custom: v1,  v2 ;q=\"x:y\"\r\n";
            ok = fixed(200, "reflect", fields);
        } else {
            ok = fixed(200, "node=" + options_.name);
        }
        if (!ok || close) open = false;
    }

    {
        std::lock_guard lock(connections_mutex_);
        ::close(fd);
        c->fd = -1;
    }
    c->done = true;
}

}  // namespace gatehouse::test
