// The reuse and re-send rules of node connections (a non-idempotent request is never sent twice).
#include <gatehouse/proxy/node_reuse.hpp>

#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/request_checks.hpp>
#include <gatehouse/upstream/connection_pool.hpp>

#include <limits>

namespace gatehouse::proxy {

bool resendable(http::verb method, bool body_held) noexcept { return body_held && is_idempotent(method); }

std::int64_t reuse_window_ms(bool resendable) noexcept {
    return resendable ? std::numeric_limits<std::int64_t>::max() : single_shot_reuse_ms;
}

bool usable_node_connection(upstream::node_stream& connection) noexcept {
    // A TLS connection's socket may be quiet while OpenSSL holds bytes (a close_notify, stray data): always read.
    return (!connection.is_tls() && known_drained(connection.socket())) || upstream::still_open_and_quiet(connection);
}

resend_decision after_send_failed(bool idempotent, bool body_held, bool reused, std::size_t bytes_written) noexcept {
    // Not a byte went out: the node cannot have seen the request, whatever its method. The client's body has not
    // been taken from the input yet, so even a streamed body can go again.
    if (bytes_written == 0) return reused ? resend_decision::fresh_connection : resend_decision::another_node;
    if (!idempotent) return resend_decision::never;
    return reused && body_held ? resend_decision::fresh_connection : resend_decision::another_node;
}

resend_decision after_no_answer(bool idempotent, bool body_held, bool reused) noexcept {
    // The node got the request; only a request without side effects, held whole, may go again. On a reused
    // connection this is most likely the node's idle close racing the request (not the node's failure).
    if (!idempotent || !body_held) return resend_decision::never;
    return reused ? resend_decision::fresh_connection : resend_decision::another_node;
}

}  // namespace gatehouse::proxy
