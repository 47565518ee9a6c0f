// A real WebSocket echo node on 127.0.0.1 for integration tests (Beast websocket, a thread per connection).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::test {

/// Answers, on one port:
///   an upgrade to any path but /refuse  101, then echoes every message (text or binary, up to 32 MiB) as it came;
///                                       the text message `whoami` gets `node=<name>`, the text message `close` makes
///                                       the node close the WebSocket (close frame 1000 "bye")
///   an upgrade to /refuse               403 `refused by node` (a node that does not switch), keep-alive
///   GET /api/__health_check             200 `ok`, or NocoBase's 503 "maintaining" JSON after set_starting(true)
///                                       (neither counted nor recorded); upgrades are accepted either way
///   any other request                   200 `node=<name>`, keep-alive
/// Every request head is recorded (upgrades included).
class websocket_node {
public:
    explicit websocket_node(std::string name);
    ~websocket_node();
    websocket_node(const websocket_node&) = delete;
    websocket_node& operator=(const websocket_node&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string address() const;  ///< "127.0.0.1:<port>"
    const std::string& name() const noexcept { return name_; }

    std::size_t upgrades() const noexcept { return upgrades_.load(); }          ///< handshakes accepted so far
    std::size_t open() const noexcept { return open_.load(); }                  ///< WebSockets open now
    std::size_t client_closes() const noexcept { return client_closes_.load(); }  ///< close frames received
    std::size_t requests() const noexcept { return requests_.load(); }          ///< request heads, upgrades included
    /// The raw request heads received so far (oldest first).
    std::vector<std::string> heads() const;

    /// Makes the health path answer NocoBase's 503 "APP_COMMANDING upgrade" (true) or `ok` (false).
    void set_starting(bool starting) noexcept { starting_.store(starting); }

    /// Closes the listener and every connection (without a close frame) and joins the threads. Idempotent.
    void stop();

private:
    struct connection {
        int fd = -1;
        std::thread thread;
    };
    void accept_loop();
    void serve(int fd);

    std::string name_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> starting_{false};
    std::atomic<std::size_t> upgrades_{0}, open_{0}, client_closes_{0}, requests_{0};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::list<std::unique_ptr<connection>> connections_;
    std::vector<std::string> heads_;
};

}  // namespace gatehouse::test
