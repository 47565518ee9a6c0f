// Why a request failed, as data: the kind, where it came from, whether it may go again, and what each side sees.
#pragma once

#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/proxy/node_reuse.hpp>

#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// Every way a request can fail after its head was accepted (head rejections are in head_reader.hpp).
enum class failure_kind : std::uint8_t {
    // The node:
    connect_refused,        ///< the connection to the node failed (refused, unreachable, reset)
    connect_timeout,        ///< timeouts.upstream_connect passed while connecting (or in the TLS handshake)
    tls_handshake,          ///< the TLS handshake with an https:// node failed (refused, or its certificate)
    send_failed,            ///< writing the request head (and the body bytes with it) failed
    body_send_failed,       ///< the node failed while the rest of the request body was sent
    body_send_timeout,      ///< the node did not take the request body in time
    closed_before_head,     ///< the node closed or reset the connection before a whole response head
    invalid_response,       ///< the node's response head did not parse
    response_head_timeout,  ///< timeouts.upstream_response passed before the response head
    unexpected_interim,     ///< a 101, or more interim answers than gatehouse follows
    node_starting,          ///< NocoBase answered its "maintaining" 503: the node is starting
    reset_mid_response,     ///< the node failed while its response body was read
    response_body_timeout,  ///< the node paused longer than timeouts.upstream_response in its response body
    inspected_503_timeout,  ///< the small 503 body read to see whether it is NocoBase's did not come in time
    // The client:
    client_closed,          ///< the client left before the exchange ended (nobody to answer)
    client_head_timeout,    ///< timeouts.client_header passed before the whole request head
    client_body_timeout,    ///< timeouts.client_body / client_idle passed while the request body was read
    malformed_body,         ///< the request body's framing is broken (chunk syntax, length)
    body_too_large,         ///< the request body exceeds limits.max_request_body
    // gatehouse itself:
    no_node,                ///< no node may take the request (all excluded or tried)
    body_not_buffered,      ///< the request body could not be stored or read back (temporary file)
};

/// Who caused a failure.
enum class failure_source : std::uint8_t { client, node, gatehouse };

/// How far a failure lets the request go again (node_reuse's decisions narrow it per request).
using retry_class = resend_decision;

failure_source source_of(failure_kind kind) noexcept;

/// The most a failure of this kind allows, before the request's own facts (method, held body) are considered.
retry_class retry_class_of(failure_kind kind) noexcept;

/// The facts of one try that decide whether its request may go again.
struct attempt_facts {
    bool idempotent = false;          ///< the method has no side effects (RFC 9110)
    bool body_held = false;           ///< gatehouse holds the whole body: it can be sent again
    bool reused = false;              ///< the try rode a pooled connection
    std::size_t bytes_written = 0;    ///< request bytes that went into the connection before it failed
    bool nothing_back = false;        ///< not a byte of an answer came back
};

/// What to do after a failed try: retry_class_of(kind) narrowed by node_reuse's rules for these facts.
resend_decision retry_after(failure_kind kind, const attempt_facts& facts) noexcept;

/// The status the client gets when the request ends with this failure (http::status::unknown: no answer).
http::status client_status(failure_kind kind) noexcept;

/// The reason kept in the log (and the 502 body's detail): `node` is the node's name, `detail` the system's or
/// parser's message (the unexpected status for unexpected_interim, the NocoBase state for node_starting).
std::string failure_reason(failure_kind kind, std::string_view node, std::string_view detail);

/// The node error label counted in gatehouse_upstream_errors_total, or none when the node is not at fault.
std::optional<metrics::upstream_error> upstream_error_of(failure_kind kind) noexcept;

/// True when a failure of this kind counts against the node's passive health (health_check.max_fails).
bool counts_against_node(failure_kind kind) noexcept;

/// True when a failed try is most likely the node's idle close racing the request on a pooled connection (closed
/// before a byte of an answer): not the node's failure, so not counted against its health.
bool idle_close_race(failure_kind kind, const attempt_facts& facts) noexcept;

/// True when the log says why a failed try is not sent again (the node may have received it): an answer that
/// never came, for a request that cannot go twice.
bool explains_no_resend(failure_kind kind, const attempt_facts& facts, resend_decision decision) noexcept;

}  // namespace gatehouse::proxy
