// When a request may ride a pooled node connection, and when it may be sent again after a node connection failed.
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/upstream/node_stream.hpp>

#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>

namespace gatehouse::proxy {

/// How long ago a pooled connection may have been parked to carry a request that cannot be sent twice (a
/// non-idempotent one, or one whose body is streamed). The node just finished an answer on it, so the node's own
/// idle close (Node.js: 5 s) is seconds away; older connections are left to requests that could be sent again.
constexpr std::int64_t single_shot_reuse_ms = 1000;

/// True when the request could be sent again, whole, if its node connection fails: an idempotent method (RFC 9110)
/// and a body that gatehouse holds entirely (none, or read before the node was chosen).
bool resendable(http::verb method, bool body_held) noexcept;

/// The longest a pooled connection may have been parked to carry this request.
std::int64_t reuse_window_ms(bool resendable) noexcept;

/// True when an idle pooled connection can carry a request: the node has neither closed it nor sent stray bytes
/// on it. Known at no cost while the socket is marked drained (read_drain.hpp: no byte and no close has arrived
/// since a read emptied it); otherwise one non-blocking peek (TLS: one non-blocking read through TLS).
bool usable_node_connection(upstream::node_stream& connection) noexcept;

/// What to do after a try at a node failed before any byte of its answer came back.
enum class resend_decision {
    fresh_connection,  ///< again on a new connection to a node (the idle-close race: not counted as a try)
    another_node,      ///< again, on another node (counts as a try)
    never,             ///< the node may have received (and acted on) the request: 502, never sent twice
};

/// Sending the request failed after `bytes_written` bytes of it had gone into the connection.
resend_decision after_send_failed(bool idempotent, bool body_held, bool reused, std::size_t bytes_written) noexcept;

/// The whole request was sent, then the node closed the connection (or reset it) without a byte of an answer.
resend_decision after_no_answer(bool idempotent, bool body_held, bool reused) noexcept;

}  // namespace gatehouse::proxy
