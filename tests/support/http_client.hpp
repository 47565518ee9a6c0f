// A small blocking HTTP/1.1 client for integration tests (loopback only).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::test {

struct http_response {
    unsigned version = 0;  ///< 10 or 11
    unsigned status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  ///< in order, as received
    std::string body;          ///< decoded (de-chunked) body; empty when streamed to a callback
    std::uint64_t body_size = 0;
    std::string raw;           ///< the bytes of this response as received (head only when the body was streamed)
    bool chunked = false;
    bool keep_alive = false;   ///< what the response framing/Connection allows

    /// First value of the field (case-insensitive name), "" when absent.
    std::string header(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    bool has(std::string_view name) const { return count(name) > 0; }
    /// The head (status line + fields + CRLF CRLF) as received.
    std::string raw_head() const;
};

/// One blocking client connection to 127.0.0.1:port. Every read is bounded by the timeout. Errors throw
/// std::runtime_error (GoogleTest reports them as failures).
class client_connection {
public:
    explicit client_connection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~client_connection();
    client_connection(const client_connection&) = delete;
    client_connection& operator=(const client_connection&) = delete;

    void set_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }

    /// Sends every byte; throws on error.
    void send(std::string_view bytes);
    /// Sends every byte; false on error (peer closed/reset).
    bool try_send(std::string_view bytes) noexcept;

    /// Reads exactly one response (a 1xx interim answer is returned as one). `head_request`: the response
    /// answers a HEAD, so it has no body whatever its fields say. Throws on timeout, malformed input, or when
    /// the connection closes before the response is complete.
    http_response read_response(bool head_request = false);
    /// Same, but body bytes go to `on_body` instead of `body`/`raw` (for huge bodies).
    http_response read_response(const std::function<void(const char*, std::size_t)>& on_body,
                                bool head_request = false);

    /// Waits up to `timeout` for the peer to close (EOF or reset). Bytes that arrive meanwhile are kept for the
    /// next read_response(). False when the connection is still open at the end.
    bool is_closed_by_peer(std::chrono::milliseconds timeout);

    /// Bytes received but not yet used by read_response().
    const std::string& pending() const noexcept { return in_; }
    void shutdown_send() noexcept;
    int fd() const noexcept { return fd_; }

private:
    /// Reads more bytes into in_; 0 on EOF/reset (eof_ set), throws on timeout.
    std::size_t receive(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    std::chrono::milliseconds timeout_;
    std::string in_;
    bool eof_ = false;
};

struct raw_result {
    std::string data;        ///< every byte received
    bool closed = false;     ///< the peer closed (EOF or reset) before the timeout
    std::chrono::milliseconds elapsed{0};
    /// The status code of the first response in `data`, 0 when there is none.
    unsigned status() const;
};

/// Connects, sends `bytes` (a send error is ignored: the peer may answer and close early), then reads until the
/// peer closes or `timeout` passes.
raw_result raw_exchange(std::uint16_t port, std::string_view bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// One GET on a fresh connection (HTTP/1.1, `Host: <host>`, plus `extra_headers` lines each ending in CRLF).
http_response get(std::uint16_t port, std::string_view target, std::string_view extra_headers = {},
                  std::string_view host = "localhost");

}  // namespace gatehouse::test
