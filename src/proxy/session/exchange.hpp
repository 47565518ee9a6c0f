// The state of one request/response exchange, and the small owners the session's steps share.
// Private to src/proxy/session.
#pragma once

#include <gatehouse/log/access_log.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/proxy/client_address.hpp>
#include <gatehouse/proxy/request_body_buffer.hpp>
#include <gatehouse/proxy/request_checks.hpp>
#include <gatehouse/proxy/session_host.hpp>
#include <gatehouse/proxy/websocket_upgrade.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::proxy::detail {

constexpr std::uint64_t hold_limit = 64 * 1024;         // bodies up to this are read whole first: retryable
constexpr std::uint64_t response_hold_limit = 64 * 1024;  // response bodies up to this are read whole, then sent
constexpr std::size_t buffer_limit = 128 * 1024;        // bounds chunk-size lines and trailers (Beast 1.81 does not)
constexpr std::size_t response_head_limit = 64 * 1024;
constexpr std::size_t head_read_piece = 8 * 1024;
constexpr std::size_t upstream_read_reserve = 16 * 1024;
constexpr std::int64_t timeout_grace_ms = 1000;         // after a cancel, how long before sockets are closed hard
constexpr std::int64_t linger_ms = 2000;                // reading what a client still sends after an error answer
constexpr std::uint64_t linger_bytes = 1024 * 1024;
constexpr int max_interim_responses = 8;
constexpr std::int64_t stop_margin_ms = 500;            // a graceful stop closes tunnels this long before the drain ends
constexpr std::uint64_t max_inspected_503 = 64 * 1024;  // a 503 body this small is read to see if it is NocoBase's
constexpr unsigned unavailable_retry_after_s = 10;
constexpr unsigned max_stale_retries = 2;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

/// What the session is waiting for; decides which timeout applies and what a timeout means.
enum class phase : std::uint8_t { handshake, idle, request_head, request_body, connect, upstream_write, response_head, response_body, tunnel,
                   closing };

using request_parser = http::request_parser<http::buffer_body>;
using response_parser = http::response_parser<http::buffer_body>;

// GCC 12 may destroy a temporary twice when it lives in a full-expression containing co_await (GCC PR 100611).
// So every std::string handed to a coroutine is a named object, never a temporary in the co_await expression.

/// The outcome of one try at one node.
enum class attempt { answered, retry_fresh, retry_other, failed };

/// Why a request body could not be buffered (each has its own answer, or none when the client left).
enum class body_failure { none, client_left, timed_out, framing_too_long, malformed, too_large, not_stored };

/// Who ended a WebSocket tunnel, for the access log.
enum class tunnel_closer : std::uint8_t { client, node, gatehouse };

constexpr std::string_view to_string(tunnel_closer c) noexcept {
    return c == tunnel_closer::client ? "client" : c == tunnel_closer::node ? "node" : "gatehouse";
}

/// A request turned into a WebSocket tunnel (tunnel.cpp): its clocks and what went through it.
struct tunnel_state {
    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
    std::chrono::steady_clock::time_point opened;  ///< when the 101 went to the client
    std::uint64_t from_client = 0;                 ///< bytes relayed client -> node
    std::uint64_t to_client = 0;                   ///< bytes relayed node -> client
    std::optional<tunnel_closer> closed_by;        ///< the side whose end (or failure) ended the tunnel first
    std::optional<tunnel_closer> close_frame_from; ///< the side that sent the first close frame (is_close_frame)
    std::int64_t idle_until_ms = never;            ///< timeouts.websocket_idle after the last byte either way
    std::int64_t stall_until_ms[2] = {never, never};  ///< a write waiting on a side that does not read (client_idle)
    std::int64_t stop_at_ms = never;               ///< graceful stop: closed before shutdown_drain ends
    std::int64_t drain_close_at_ms = never;        ///< upstream.drain_websockets_after after its node was drained
    std::int64_t deadline_ms() const noexcept {
        return std::min({idle_until_ms, stall_until_ms[0], stall_until_ms[1], stop_at_ms, drain_close_at_ms});
    }
};

/// Counts one request in flight to one node for as long as it lives (least_request reads the counts).
class in_flight_mark {
public:
    in_flight_mark(session_host& h, session_base& s, std::size_t node) : host_(h), session_(s) {
        host_.request_started(session_, node);
    }
    ~in_flight_mark() { host_.request_finished(session_); }
    in_flight_mark(const in_flight_mark&) = delete;
    in_flight_mark& operator=(const in_flight_mark&) = delete;

private:
    session_host& host_;
    session_base& session_;
};

/// An open WebSocket tunnel once its exchange is gone (the request's parser, its fields and serve_request's frame):
/// the tunnel's clocks, the access log line it writes when it closes, and its in-flight count (so drain, pin and
/// least_request treat it like a request). The session owns it while run() runs the tunnel.
struct tunnel_record : tunnel_state {
    log::access_record line;  ///< the request's fields, pointing into `strings`
    std::string strings;
    std::chrono::steady_clock::time_point started;  ///< when the request head began to arrive
    std::optional<in_flight_mark> in_flight;
    bool open = false;                    ///< the 101 reached the client (else the record only logs its line)
    bool stopped[2] = {false, false};     ///< by direction (1: client -> node): ends before its next wait
};

/// Per-request state that the steps share; lives on serve_request's frame.
struct exchange {
    request_parser request;
    std::optional<response_parser> response;
    request_verdict verdict;
    bool held = false;           // whole body in in_ (or in `buffered`): the request can be sent again
    std::uint64_t held_length = 0;  // body bytes held at the front of in_: they leave it when the exchange ends
    bool body_consumed = false;  // the client's body has been read entirely
    bool expect_continue = false;
    bool keep_alive = false;
    std::string_view request_id;
    char generated_id[32];
    client_origin origin;        // who the client is (trusted_proxies applied)
    std::string_view client_ip;  // the resolved client for the log ("unknown" for a malformed trusted chain)
    std::string failure;         // why the last try failed, for the log and the 502 body
    model::snapshot_ptr nodes;         // the node list `node` belongs to (the newest when the node was picked)
    std::uint64_t nodes_generation = 0;  // the worker's node-list generation at the pick
    const model::node* node = nullptr;
    bool bypassed = false;             // maintenance was on and this client bypasses it
    bool can_retry_elsewhere = false;  // another node could take this request if this one says "starting"
    std::optional<std::string> prefetched_body;  // a small body already read (a 503 inspected for retry)
    // A body read whole before the node was chosen (proxy.request_buffering): then `held` is set, the body is
    // sent from here with a Content-Length, and verdict.content_length counts only body bytes in in_ (none).
    std::unique_ptr<request_body_buffer> buffered;
    std::optional<in_flight_mark> in_flight;  // counts this request against `node` until it ends
    // For the metrics and the access log:
    std::chrono::steady_clock::time_point started;  // when the request head began to arrive
    std::chrono::steady_clock::time_point upstream_sent;
    double upstream_time = -1;         // seconds from sending to the node until its response head
    unsigned status = 0;               // what the client got (0 = nothing)
    unsigned upstream_status = 0;      // what the node answered (0 = no answer)
    std::uint64_t sent_bytes = 0;      // head and body bytes written to the client
    std::uint64_t body_bytes_sent = 0;
    std::optional<metrics::own_reason> own;  // gatehouse answered itself
    bool maintenance = false;
    upgrade_request upgrade = upgrade_request::none;  // what the request asked (websocket_upgrade.hpp)
    std::optional<tunnel_state> tunnel;  // set once the node switched to WebSocket and the 101 went out

    bool websocket() const noexcept { return upgrade == upgrade_request::websocket; }
    /// The node answered a WebSocket upgrade with a valid 101 (read_final_head checked it): tunnel() follows.
    bool switched() const noexcept { return websocket() && upstream_status == 101; }
    /// The request could go again if no byte of it reached a node: an idempotent method, and not an upgrade (once
    /// sent, the node may have switched protocols).
    bool idempotent() const noexcept { return !websocket() && is_idempotent(request.get().method()); }
};

}  // namespace gatehouse::proxy::detail
