// Names of the counter labels, and re-mapping node counters after a reload.
#include <gatehouse/metrics/counters.hpp>

namespace gatehouse::metrics {

const char* to_string(own_reason r) noexcept {
    switch (r) {
    case own_reason::maintenance: return "maintenance";
    case own_reason::no_node: return "no_node";
    case own_reason::bad_request: return "bad_request";
    case own_reason::timeout: return "timeout";
    case own_reason::too_large: return "too_large";
    case own_reason::bad_gateway: return "bad_gateway";
    case own_reason::internal: return "internal";
    case own_reason::redirect: return "redirect";
    case own_reason::count: break;
    }
    return "other";
}

own_reason own_reason_of_status(unsigned status) noexcept {
    switch (status) {
    case 408:
    case 504: return own_reason::timeout;
    case 413: return own_reason::too_large;
    case 502: return own_reason::bad_gateway;
    case 503: return own_reason::no_node;
    case 301: return own_reason::redirect;
    default: return status >= 500 ? own_reason::internal : own_reason::bad_request;
    }
}

const char* to_string(upstream_error e) noexcept {
    switch (e) {
    case upstream_error::connect: return "connect";
    case upstream_error::reset: return "reset";
    case upstream_error::timeout: return "timeout";
    case upstream_error::protocol: return "protocol";
    case upstream_error::tls: return "tls";
    case upstream_error::count: break;
    }
    return "other";
}

const char* to_string(websocket_result r) noexcept {
    switch (r) {
    case websocket_result::upgraded: return "upgraded";
    case websocket_result::declined: return "declined";
    case websocket_result::unavailable: return "unavailable";
    case websocket_result::failed: return "failed";
    case websocket_result::count: break;
    }
    return "other";
}

const char* to_string(tls_failure f) noexcept {
    switch (f) {
    case tls_failure::timeout: return "timeout";
    case tls_failure::plain_http: return "plain_http";
    case tls_failure::protocol: return "protocol";
    case tls_failure::closed: return "closed";
    case tls_failure::other: case tls_failure::count: break;
    }
    return "other";
}

const char* to_string(idle_close r) noexcept {
    switch (r) {
    case idle_close::timeout: return "timeout";
    case idle_close::surplus: return "surplus";
    case idle_close::unusable: case idle_close::count: break;
    }
    return "unusable";
}

const char* to_string(tunnel_direction d) noexcept {
    return d == tunnel_direction::client_to_node ? "client_to_node" : "node_to_client";
}

void worker_counters::remap(const std::vector<std::size_t>& new_index_of_old, std::size_t count) {
    std::vector<node_counters> moved(count);
    for (std::size_t o = 0; o < nodes.size() && o < new_index_of_old.size(); ++o)
        if (new_index_of_old[o] < count) moved[new_index_of_old[o]] = nodes[o];
    nodes = std::move(moved);
}

}  // namespace gatehouse::metrics
