// A real HTTP/1.1 server on 127.0.0.1 for integration tests: thread per connection, blocking sockets,
// recording what it received. Never holds a large body in memory (except /echo, up to 16 MiB).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gatehouse::test {

/// Byte i of every generated body (/download, /chunked, /eof): 'a' + i % 26.
inline char pattern_byte(std::uint64_t i) noexcept { return static_cast<char>('a' + i % 26); }

/// `n` pattern bytes starting at body offset `offset`.
std::string pattern(std::uint64_t offset, std::size_t n);

/// True when `data` equals the pattern bytes at body offsets [offset, offset + n).
bool matches_pattern(std::uint64_t offset, const char* data, std::size_t n) noexcept;

struct upstream_options {
    std::string name = "node";
    /// Close a keep-alive connection idle longer than this between requests (like Node's keepAliveTimeout);
    /// 0 = never.
    std::chrono::milliseconds idle_close{0};
    /// Close a connection without answering when a second request arrives on it (the race of a node closing an
    /// idle connection just as a proxy reuses it). The dropped request is still recorded.
    bool drop_reused = false;
    /// Listen on this port of 127.0.0.1, e.g. to restart a stopped node on its old port (every listener sets
    /// SO_REUSEADDR, so that works while its old connections linger); 0 = an ephemeral port.
    std::uint16_t port = 0;
    /// Wait this long before answering every request except the health path (a uniformly slow node); 0 = none.
    std::chrono::milliseconds delay_all{0};
    /// The loopback address listened on, e.g. "127.0.0.2" for a node found by DNS at another address.
    std::string ip = "127.0.0.1";
};

/// How the node answers its health path /api/__health_check (like a NocoBase node).
enum class health_mode {
    ok,        ///< 200 "ok" (running)
    error500,  ///< 500
    starting,  ///< 503 {"error":{"maintaining":true,"code":"APP_COMMANDING","command":{"name":"upgrade"}}}; every
               ///< other path answers the same while in this mode
    hang,      ///< never answers (the connection stays open until the peer or stop() closes it)
};

/// Routes (every response carries `X-Node: <name>`; keep-alive unless the request says close):
///   /                   200 `node=<name>` (also anything unmatched)
///   /echo               200, body = request body (up to 16 MiB, else 413)
///   /count              200 `bytes=<N>`, body read streaming
///   /download/N         N pattern bytes, Content-Length, written in 64 KiB pieces
///   /chunked/N          N pattern bytes, chunked, pieces of 1000 bytes
///   /trailers           small chunked body followed by the trailer `X-Checksum: abc`
///   /eof/N              N pattern bytes, no length, then the connection closes
///   /truncated/N        Content-Length N, only N/2 pattern bytes, then the connection closes (a node dying mid-body)
///   /stray/MS           200 `first`, then MS ms later an unasked-for `200 STRAY!` on the same connection
///   /slow/MS            sleeps MS ms, then 200 `slow`
///   /status/N           status N (204 and 304 without a body)
///   /headers[/...]      200, body = the raw request head as received
///   /reflect            200, repeats every request header named X-Reflect-* (X-Reflect-Connection as Connection)
///                       and adds fixed end-to-end fields
/// HEAD gets the GET headers with Content-Length and no body. The query string is ignored for routing.
class test_upstream {
public:
    explicit test_upstream(upstream_options options = {});
    explicit test_upstream(std::string name) : test_upstream(upstream_options{std::move(name)}) {}
    ~test_upstream();
    test_upstream(const test_upstream&) = delete;
    test_upstream& operator=(const test_upstream&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "<ip>:<port>" (127.0.0.1 unless upstream_options::ip), for a gatehouse node address.
    std::string address() const;
    const std::string& name() const noexcept { return options_.name; }

    std::size_t connections() const noexcept { return accepted_.load(); }  ///< accepted so far
    std::size_t requests() const noexcept { return requests_.load(); }     ///< request heads received so far
    std::size_t open_connections() const;

    /// The last (up to 1000) raw request heads, oldest first.
    std::vector<std::string> heads() const;
    /// The last raw request head, "" if none.
    std::string last_head() const;
    /// True when `needle` occurs in any recorded head or recorded body prefix (first 4 KiB of each body).
    bool received(std::string_view needle) const;
    /// Waits until at least `n` request heads have arrived; false on timeout.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

    /// Closes the listener and every connection and joins the threads. Idempotent.
    void stop();

    /// Changes how the health path (and, in `starting`, every path) is answered.
    void set_health(health_mode mode) noexcept { health_.store(mode); }
    /// Requests to the health path so far (they are not counted in requests() or heads()).
    std::size_t health_checks() const noexcept { return health_checks_.load(); }
    /// Unasked-for answers of /stray/MS that have reached the peer's receive queue so far.
    std::size_t strays_sent() const noexcept { return strays_sent_.load(); }

private:
    std::atomic<health_mode> health_{health_mode::ok};
    std::atomic<std::size_t> health_checks_{0};
    std::atomic<std::size_t> strays_sent_{0};

    struct connection {
        int fd = -1;
        std::thread thread;
        std::atomic<bool> done{false};
    };

    void accept_loop();
    void serve(connection* c);
    void record_head(std::string head);
    void record_body(std::string body_prefix);
    bool sleep_unless_stopped(std::chrono::milliseconds d);

    upstream_options options_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> requests_{0};

    mutable std::mutex connections_mutex_;
    std::list<std::unique_ptr<connection>> connections_;

    mutable std::mutex records_mutex_;
    mutable std::condition_variable records_changed_;
    std::deque<std::string> heads_;
    std::deque<std::string> bodies_;

    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
};

}  // namespace gatehouse::test
