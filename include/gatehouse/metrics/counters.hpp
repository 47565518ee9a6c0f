// What each worker counts about the requests it serves: plain integers in the worker's own memory (no atomics,
// no sharing); a scrape asks every worker for a copy and adds them up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gatehouse::metrics {

/// Histogram bucket upper bounds in seconds, 1 ms to 60 s (plus +Inf).
inline constexpr std::array<double, 15> duration_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,      2.5,   5,    10,   30,    60};

struct histogram {
    std::array<std::uint64_t, duration_bounds.size() + 1> buckets{};  ///< per bucket (not cumulative); last = +Inf
    double sum = 0;
    std::uint64_t count = 0;

    void observe(double seconds) noexcept {
        std::size_t i = 0;
        while (i < duration_bounds.size() && seconds > duration_bounds[i]) ++i;
        ++buckets[i];
        sum += seconds;
        ++count;
    }
    void add(const histogram& o) noexcept {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
        sum += o.sum;
        count += o.count;
    }
};

/// Why gatehouse answered a request itself (node="none" in the metrics).
enum class own_reason : std::uint8_t { maintenance, no_node, bad_request, timeout, too_large, bad_gateway, internal, redirect, count };
const char* to_string(own_reason r) noexcept;
/// The reason label of an error answer gatehouse gave itself, from its status (408/504 timeout, 413 too_large,
/// 502 bad_gateway, 503 no_node, other 5xx internal, 301 redirect (proxy.redirect_https), other 4xx bad_request).
own_reason own_reason_of_status(unsigned status) noexcept;

/// What went wrong with a node during a request.
enum class upstream_error : std::uint8_t { connect, reset, timeout, protocol, tls, count };
const char* to_string(upstream_error e) noexcept;

/// How a WebSocket upgrade request ended (gatehouse_websocket_upgrades_total{result}).
enum class websocket_result : std::uint8_t {
    upgraded,     ///< the node switched protocols: a tunnel opened
    declined,     ///< the node answered without switching (relayed as a normal response)
    unavailable,  ///< gatehouse answered 503 itself (maintenance, no node up)
    failed,       ///< no node answered it (502, 504)
    count
};
const char* to_string(websocket_result r) noexcept;

/// Directions of a WebSocket tunnel (gatehouse_websocket_bytes_total{direction}).
enum class tunnel_direction : std::uint8_t { client_to_node, node_to_client, count };
const char* to_string(tunnel_direction d) noexcept;

/// Why a TLS handshake failed (gatehouse_tls_handshake_failures_total{reason}).
enum class tls_failure : std::uint8_t {
    timeout,     ///< not done within timeouts.client_header (a stalled client)
    plain_http,  ///< plain HTTP sent to a TLS listener
    protocol,    ///< no common protocol version or cipher (e.g. TLS 1.1 and older)
    closed,      ///< the client closed or reset the connection during the handshake
    other,       ///< any other TLS error (bad record, certificate refused by the client, ...)
    count
};
const char* to_string(tls_failure f) noexcept;

/// Why an idle pooled node connection was closed (gatehouse_upstream_idle_closed_total{reason}).
enum class idle_close : std::uint8_t {
    timeout,   ///< idle for timeouts.upstream_idle
    surplus,   ///< more idle than recent demand or upstream.keepalive allows
    unusable,  ///< the node had closed it or sent stray bytes on it (found before a reuse)
    count
};
const char* to_string(idle_close r) noexcept;

/// Status class index of an HTTP status: 1xx -> 0 ... 5xx -> 4.
inline std::size_t status_class(unsigned status) noexcept {
    const unsigned c = status / 100;
    return c < 1 ? 0 : c > 5 ? 4 : c - 1;
}

struct node_counters {
    std::array<std::uint64_t, 5> responses{};  ///< answers from this node by status class
    histogram response_time;                   ///< request sent -> response head received
    std::array<std::uint64_t, static_cast<std::size_t>(upstream_error::count)> errors{};
    std::uint64_t retries = 0;                 ///< requests sent to another node after this one failed them
    std::uint64_t connections_opened = 0;      ///< new connections to this node (TCP connect succeeded)
};

/// One worker's counters. Node counters are by index in the worker's current node list (re-mapped on reloads).
struct worker_counters {
    std::vector<node_counters> nodes;
    std::array<std::array<std::uint64_t, 5>, static_cast<std::size_t>(own_reason::count)> own{};
    histogram request_duration;  ///< request head read -> answer written, every request
    std::uint64_t received_bytes = 0;
    std::uint64_t sent_bytes = 0;
    std::uint64_t refused_per_client = 0;  ///< connections closed at limits.max_connections_per_client
    std::array<std::uint64_t, static_cast<std::size_t>(websocket_result::count)> websocket_upgrades{};
    std::array<std::uint64_t, static_cast<std::size_t>(tunnel_direction::count)> websocket_bytes{};  ///< as they pass
    std::uint64_t compressed_responses = 0;   ///< answers gzipped on their way to the client
    std::uint64_t compression_in_bytes = 0;   ///< body bytes given to gzip
    std::uint64_t compression_out_bytes = 0;  ///< gzip bytes it made of them
    std::uint64_t tls_handshakes = 0;  ///< completed TLS handshakes
    std::uint64_t tls_resumed = 0;     ///< of which resumed a session (ticket or cache)
    std::array<std::uint64_t, static_cast<std::size_t>(tls_failure::count)> tls_handshake_failures{};
    std::array<std::uint64_t, static_cast<std::size_t>(idle_close::count)> idle_closed{};  ///< pooled connections

    /// A new node list: counters of old node `o` move to `new_index_of_old[o]`; those of removed nodes are dropped.
    void remap(const std::vector<std::size_t>& new_index_of_old, std::size_t nodes);
};

}  // namespace gatehouse::metrics
