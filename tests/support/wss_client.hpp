// A Beast WebSocket client over TLS (wss) for integration tests: every operation bounded by a timeout.
#pragma once

#include "websocket_client.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gatehouse::test {

/// One wss connection to 127.0.0.1:port (certificate not verified): TLS handshake, then the WebSocket handshake
/// for `target`. Throws std::runtime_error when either fails or an operation does not complete within the timeout.
class wss_client {
public:
    explicit wss_client(std::uint16_t port, std::string_view target = "/ws",
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~wss_client();
    wss_client(const wss_client&) = delete;
    wss_client& operator=(const wss_client&) = delete;

    void send(std::string_view message, bool binary = false);
    std::string read();
    /// Reads until the WebSocket or its connection ends (messages are dropped), at most `timeout`.
    websocket_end read_end(std::chrono::milliseconds timeout);
    /// After read_end() returned `connection`: whether TLS ended cleanly, with the server's close_notify before its
    /// FIN (false: the connection ended without one, or was reset).
    bool ended_with_close_notify() const noexcept;
    /// Closes with a close frame (code 1000) and waits for the peer's.
    void close();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace gatehouse::test
