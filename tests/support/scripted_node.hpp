// A node on 127.0.0.1 whose answers the test writes byte by byte (SSE streams, gzip cases): thread per connection,
// blocking sockets, keep-alive until the test's handler says close.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace gatehouse::test {

/// One request as the node read it (a Content-Length body only; enough for these tests).
struct scripted_request {
    std::string head;    ///< raw, up to CRLF CRLF
    std::string method;
    std::string target;
    std::string body;
};

/// What a handler writes with. `send` is blocking (bounded by a socket timeout).
class scripted_reply {
public:
    explicit scripted_reply(int fd) : fd_(fd) {}
    bool send(std::string_view bytes);
    /// Ends the connection after this answer (a close-delimited body ends here: FIN).
    void close() noexcept { close_ = true; }
    bool closing() const noexcept { return close_; }

private:
    int fd_;
    bool close_ = false;
};

/// Steps a test and its node agree on: the client opens step k once it has received event k; the node waits for it
/// before writing event k + 1. Proves that nothing is held back without depending on timing.
class step_gate {
public:
    void open(unsigned k);
    /// True once step k is open; false after `timeout`.
    bool wait(unsigned k, std::chrono::milliseconds timeout);
    unsigned opened() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    unsigned opened_ = 0;
};

class scripted_node {
public:
    using handler = std::function<void(const scripted_request&, scripted_reply&)>;
    explicit scripted_node(handler h);
    ~scripted_node();
    scripted_node(const scripted_node&) = delete;
    scripted_node& operator=(const scripted_node&) = delete;

    std::string address() const;  ///< "127.0.0.1:<port>"
    std::size_t requests() const noexcept { return requests_.load(); }
    /// Closes the listener and every connection, joins the threads. Idempotent.
    void stop();

private:
    struct connection {
        int fd = -1;
        std::thread thread;
    };
    void accept_loop();
    void serve(connection* c);

    handler handler_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> requests_{0};
    std::mutex mutex_;
    std::list<std::unique_ptr<connection>> connections_;
};

/// "HTTP/1.1 200 OK" head with `fields` (each ending in CRLF) and a Content-Length of `body`, then `body`.
std::string fixed_answer(std::string_view fields, std::string_view body, unsigned status = 200);

/// One chunk of a chunked body.
std::string chunk_of(std::string_view data);

}  // namespace gatehouse::test
