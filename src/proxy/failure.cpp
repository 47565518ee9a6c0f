// The failure kinds' tables: source, retry class, client status, log reason and metrics label.
#include <gatehouse/proxy/failure.hpp>

namespace gatehouse::proxy {

failure_source source_of(failure_kind kind) noexcept {
    switch (kind) {
    case failure_kind::client_closed:
    case failure_kind::client_head_timeout:
    case failure_kind::client_body_timeout:
    case failure_kind::malformed_body:
    case failure_kind::body_too_large: return failure_source::client;
    case failure_kind::no_node:
    case failure_kind::body_not_buffered: return failure_source::gatehouse;
    default: return failure_source::node;
    }
}

retry_class retry_class_of(failure_kind kind) noexcept {
    switch (kind) {
    case failure_kind::connect_refused:
    case failure_kind::connect_timeout:
    case failure_kind::tls_handshake:  // no request byte was sent
    case failure_kind::node_starting: return resend_decision::another_node;  // the node never acted on it
    case failure_kind::send_failed:
    case failure_kind::body_send_failed:
    case failure_kind::closed_before_head:
    case failure_kind::invalid_response: return resend_decision::fresh_connection;  // narrowed by node_reuse
    default: return resend_decision::never;
    }
}

resend_decision retry_after(failure_kind kind, const attempt_facts& f) noexcept {
    switch (kind) {
    case failure_kind::send_failed: return after_send_failed(f.idempotent, f.body_held, f.reused, f.bytes_written);
    case failure_kind::body_send_failed:
        // The head went out first; a streamed body has been taken from the client's input and cannot go again.
        if (!f.body_held) return resend_decision::never;
        return after_send_failed(f.idempotent, f.body_held, f.reused, f.bytes_written);
    case failure_kind::closed_before_head:
    case failure_kind::invalid_response:
        return f.nothing_back ? after_no_answer(f.idempotent, f.body_held, f.reused) : resend_decision::never;
    default: return retry_class_of(kind);
    }
}

http::status client_status(failure_kind kind) noexcept {
    switch (kind) {
    case failure_kind::body_send_timeout:
    case failure_kind::response_head_timeout:
    case failure_kind::response_body_timeout: return http::status::gateway_timeout;
    case failure_kind::client_closed: return http::status::unknown;
    case failure_kind::client_head_timeout:
    case failure_kind::client_body_timeout: return http::status::request_timeout;
    case failure_kind::malformed_body: return http::status::bad_request;
    case failure_kind::body_too_large: return http::status::payload_too_large;
    case failure_kind::body_not_buffered: return http::status::internal_server_error;
    default: return http::status::bad_gateway;
    }
}

std::string failure_reason(failure_kind kind, std::string_view node, std::string_view detail) {
    const auto at_node = [&](std::string_view what) {
        std::string s = "node ";
        s.append(node).append(" ").append(what);
        return s;
    };
    switch (kind) {
    case failure_kind::connect_refused: return "cannot connect to " + std::string(node) + ": " + std::string(detail);
    case failure_kind::connect_timeout: return "cannot connect to " + std::string(node) + ": timed out";
    case failure_kind::tls_handshake: return "TLS handshake with " + std::string(node) + " failed: " + std::string(detail);
    case failure_kind::send_failed: return at_node("failed while the request was sent: ").append(detail);
    case failure_kind::body_send_failed: return at_node("failed while the request body was sent: ").append(detail);
    case failure_kind::body_send_timeout: return at_node("did not take the request body in time");
    case failure_kind::closed_before_head:
    case failure_kind::invalid_response: return at_node("sent no valid response: ").append(detail);
    case failure_kind::response_head_timeout: return at_node("sent no response in time");
    case failure_kind::unexpected_interim: return at_node("sent an unexpected ").append(detail).append(" response");
    case failure_kind::node_starting: return at_node("is starting (").append(detail).append(")");
    case failure_kind::reset_mid_response:
    case failure_kind::inspected_503_timeout: return at_node("failed mid-response: ").append(detail);
    case failure_kind::response_body_timeout: return at_node("failed mid-response: timed out");
    case failure_kind::client_closed: return "client left: " + std::string(detail);
    case failure_kind::client_head_timeout: return "request head not received in time";
    case failure_kind::client_body_timeout: return "request body not received in time";
    case failure_kind::malformed_body: return "malformed request body: " + std::string(detail);
    case failure_kind::body_too_large: return "request body too large";
    case failure_kind::no_node: return "no upstream node available";
    case failure_kind::body_not_buffered: return "request body not buffered";
    }
    return "unknown failure";
}

std::optional<metrics::upstream_error> upstream_error_of(failure_kind kind) noexcept {
    switch (kind) {
    case failure_kind::connect_refused:
    case failure_kind::connect_timeout: return metrics::upstream_error::connect;
    case failure_kind::tls_handshake: return metrics::upstream_error::tls;
    case failure_kind::send_failed:
    case failure_kind::body_send_failed:
    case failure_kind::closed_before_head:
    case failure_kind::reset_mid_response: return metrics::upstream_error::reset;
    case failure_kind::body_send_timeout:
    case failure_kind::response_head_timeout:
    case failure_kind::response_body_timeout:
    case failure_kind::inspected_503_timeout: return metrics::upstream_error::timeout;
    case failure_kind::invalid_response:
    case failure_kind::unexpected_interim: return metrics::upstream_error::protocol;
    default: return std::nullopt;
    }
}

bool counts_against_node(failure_kind kind) noexcept {
    switch (kind) {
    case failure_kind::connect_refused:
    case failure_kind::connect_timeout:
    case failure_kind::tls_handshake:
    case failure_kind::closed_before_head:
    case failure_kind::invalid_response:
    case failure_kind::response_head_timeout: return true;
    default: return false;
    }
}

bool idle_close_race(failure_kind kind, const attempt_facts& facts) noexcept {
    const bool no_answer = kind == failure_kind::closed_before_head || kind == failure_kind::invalid_response;
    return no_answer && facts.nothing_back && facts.reused;
}

bool explains_no_resend(failure_kind kind, const attempt_facts& facts, resend_decision decision) noexcept {
    if (decision != resend_decision::never || !facts.nothing_back) return false;
    return kind == failure_kind::send_failed || kind == failure_kind::closed_before_head ||
           kind == failure_kind::invalid_response;
}

}  // namespace gatehouse::proxy
