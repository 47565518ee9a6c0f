// The admin listener: a small HTTP/1.1 server on the control thread, never on the public listeners.
#pragma once

#include <gatehouse/control/controller.hpp>
#include <gatehouse/net.hpp>

#include <memory>

namespace gatehouse::admin {

/// Accepts admin connections on the control thread's io_context and hands each request to handle_admin_request.
/// Requests are small (64 KiB body at most) and few, so each connection is a plain coroutine with timeouts: 5 s for
/// the first byte of a request (idle), 5 s for the rest of it, 10 s to write the answer. At most 64 connections per
/// listener: at the cap the one idle the longest is closed to make room, or the new one when none is idle.
class admin_server {
public:
    /// Opens the listener on controller.config().admin.listen, or, with `metrics_only`, on metrics.listen (that
    /// listener serves /metrics and /healthz only). Throws std::system_error naming the address.
    admin_server(net::io_context& control, control::controller& controller, bool metrics_only = false);
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    void start();
    /// Closes the listener and every admin connection.
    void stop();

    tcp::endpoint local_endpoint() const;

private:
    struct connections;

    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(tcp::socket socket);

    net::io_context& control_;
    control::controller& controller_;
    tcp::acceptor acceptor_;
    std::shared_ptr<connections> open_;
    bool metrics_only_;
};

}  // namespace gatehouse::admin
