// The admin API's routes: one request in, one answer out. Authentication included; no sockets here.
#pragma once

#include <gatehouse/control/controller.hpp>
#include <gatehouse/net.hpp>

#include <boost/beast/http/verb.hpp>

#include <string>
#include <utility>
#include <vector>

namespace gatehouse::admin {

struct admin_request {
    http::verb method = http::verb::get;
    std::string target;          ///< path and query as received
    std::string body;
    std::string authorization;   ///< the Authorization header ("" when absent)
    std::string host;            ///< the Host header
    std::string origin;          ///< the Origin header ("" when absent; browsers send it on cross-site requests)
    std::string peer;            ///< the client's address, for the log
    bool peer_is_loopback = false;
    bool metrics_only = false;   ///< arrived on the [metrics] listener: only /metrics and /healthz are served
};

struct admin_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra fields (Allow, WWW-Authenticate)
};

/// Routes `request`. GET /metrics (Prometheus text) needs no token unless metrics.require_token. Every other route
/// but GET /healthz and the status page GET / needs `Authorization: Bearer <token>` (compared in constant
/// time); with no token configured, only loopback peers are served, and only with admin.allow_no_token. What is
/// served without a token (/healthz, /metrics) needs a Host that is an IP address or localhost (DNS rebinding).
/// Errors are JSON `{"error": "..."}` with a 4xx.
net::awaitable<admin_response> handle_admin_request(control::controller& controller, const admin_request& request);

}  // namespace gatehouse::admin
