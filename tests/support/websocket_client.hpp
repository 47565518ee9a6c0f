// A Beast WebSocket client for integration tests: every operation bounded by a timeout (loopback only).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gatehouse::test {

/// How a WebSocket read ended when it did not return a message.
enum class websocket_end {
    none,          ///< a message arrived
    close_frame,   ///< the peer closed the WebSocket with a close frame
    connection,    ///< the TCP connection ended (end of stream, reset) without a close frame
    timeout,       ///< nothing within the timeout
};

/// One WebSocket connection to 127.0.0.1:port through a handshake for `target`. Throws std::runtime_error when the
/// connection or the handshake fails (the message names the HTTP status the server answered, if any).
class websocket_client {
public:
    explicit websocket_client(std::uint16_t port, std::string_view target = "/ws",
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~websocket_client();
    websocket_client(const websocket_client&) = delete;
    websocket_client& operator=(const websocket_client&) = delete;

    void set_timeout(std::chrono::milliseconds timeout) noexcept;
    /// Sends one message (text or binary); throws on failure or timeout.
    void send(std::string_view message, bool binary = false);
    /// Reads one message; throws when none comes (see read_end for how it ended).
    std::string read();
    /// Reads until the WebSocket or its connection ends (messages are dropped), at most `timeout`.
    websocket_end read_end(std::chrono::milliseconds timeout);
    /// The close frame's reason text after read_end() returned close_frame.
    std::string close_reason() const;
    /// Closes with a close frame (code 1000) and waits for the peer's.
    void close();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace gatehouse::test
