// Failure kinds as data: each kind's client status, log reason, metrics label, source and retry decision.
#include <gatehouse/proxy/failure.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;
using namespace gatehouse::proxy;

// The statuses clients got before failures became data: 502 for a node that failed, 504 for one too slow,
// 408/400/413 for the client's own faults, 500 when gatehouse could not store the body.
TEST(Failure, ClientStatusOfEachKind) {
    EXPECT_EQ(client_status(failure_kind::connect_refused), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::connect_timeout), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::send_failed), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::closed_before_head), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::invalid_response), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::unexpected_interim), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::reset_mid_response), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::inspected_503_timeout), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::no_node), http::status::bad_gateway);
    EXPECT_EQ(client_status(failure_kind::body_send_timeout), http::status::gateway_timeout);
    EXPECT_EQ(client_status(failure_kind::response_head_timeout), http::status::gateway_timeout);
    EXPECT_EQ(client_status(failure_kind::response_body_timeout), http::status::gateway_timeout);
    EXPECT_EQ(client_status(failure_kind::client_head_timeout), http::status::request_timeout);
    EXPECT_EQ(client_status(failure_kind::client_body_timeout), http::status::request_timeout);
    EXPECT_EQ(client_status(failure_kind::malformed_body), http::status::bad_request);
    EXPECT_EQ(client_status(failure_kind::body_too_large), http::status::payload_too_large);
    EXPECT_EQ(client_status(failure_kind::body_not_buffered), http::status::internal_server_error);
    EXPECT_EQ(client_status(failure_kind::client_closed), http::status::unknown);
}

// The log reasons the integration tests and operators search for, word for word.
TEST(Failure, ReasonNamesTheNodeAndTheDetail) {
    EXPECT_EQ(failure_reason(failure_kind::connect_refused, "n1", "Connection refused"),
              "cannot connect to n1: Connection refused");
    EXPECT_EQ(failure_reason(failure_kind::connect_timeout, "n1", "ignored"), "cannot connect to n1: timed out");
    EXPECT_EQ(failure_reason(failure_kind::send_failed, "n1", "Broken pipe"),
              "node n1 failed while the request was sent: Broken pipe");
    EXPECT_EQ(failure_reason(failure_kind::body_send_failed, "n1", "reset"),
              "node n1 failed while the request body was sent: reset");
    EXPECT_EQ(failure_reason(failure_kind::body_send_timeout, "n1", ""), "node n1 did not take the request body in time");
    EXPECT_EQ(failure_reason(failure_kind::closed_before_head, "n1", "end of stream"),
              "node n1 sent no valid response: end of stream");
    EXPECT_EQ(failure_reason(failure_kind::response_head_timeout, "n1", ""), "node n1 sent no response in time");
    EXPECT_EQ(failure_reason(failure_kind::unexpected_interim, "n1", "101"), "node n1 sent an unexpected 101 response");
    EXPECT_EQ(failure_reason(failure_kind::node_starting, "n1", "maintaining"), "node n1 is starting (maintaining)");
    EXPECT_EQ(failure_reason(failure_kind::reset_mid_response, "n1", "reset"), "node n1 failed mid-response: reset");
    EXPECT_EQ(failure_reason(failure_kind::response_body_timeout, "n1", "x"), "node n1 failed mid-response: timed out");
    EXPECT_EQ(failure_reason(failure_kind::client_body_timeout, "", ""), "request body not received in time");
    EXPECT_EQ(failure_reason(failure_kind::malformed_body, "", "bad chunk"), "malformed request body: bad chunk");
    EXPECT_EQ(failure_reason(failure_kind::no_node, "", ""), "no upstream node available");
}

// The node error label (gatehouse_upstream_errors_total's `kind`), none when the node is not at fault.
TEST(Failure, MetricsLabel) {
    EXPECT_EQ(upstream_error_of(failure_kind::connect_refused), metrics::upstream_error::connect);
    EXPECT_EQ(upstream_error_of(failure_kind::connect_timeout), metrics::upstream_error::connect);
    EXPECT_EQ(upstream_error_of(failure_kind::send_failed), metrics::upstream_error::reset);
    EXPECT_EQ(upstream_error_of(failure_kind::closed_before_head), metrics::upstream_error::reset);
    EXPECT_EQ(upstream_error_of(failure_kind::reset_mid_response), metrics::upstream_error::reset);
    EXPECT_EQ(upstream_error_of(failure_kind::response_head_timeout), metrics::upstream_error::timeout);
    EXPECT_EQ(upstream_error_of(failure_kind::inspected_503_timeout), metrics::upstream_error::timeout);
    EXPECT_EQ(upstream_error_of(failure_kind::invalid_response), metrics::upstream_error::protocol);
    EXPECT_EQ(upstream_error_of(failure_kind::unexpected_interim), metrics::upstream_error::protocol);
    EXPECT_FALSE(upstream_error_of(failure_kind::node_starting));
    EXPECT_FALSE(upstream_error_of(failure_kind::client_closed));
    EXPECT_FALSE(upstream_error_of(failure_kind::no_node));
}

// Where each failure comes from, and which count against the node's passive health.
TEST(Failure, SourceAndPassiveHealth) {
    EXPECT_EQ(source_of(failure_kind::connect_refused), failure_source::node);
    EXPECT_EQ(source_of(failure_kind::client_body_timeout), failure_source::client);
    EXPECT_EQ(source_of(failure_kind::body_too_large), failure_source::client);
    EXPECT_EQ(source_of(failure_kind::body_not_buffered), failure_source::gatehouse);
    EXPECT_TRUE(counts_against_node(failure_kind::connect_timeout));
    EXPECT_TRUE(counts_against_node(failure_kind::response_head_timeout));
    EXPECT_FALSE(counts_against_node(failure_kind::send_failed));
    EXPECT_FALSE(counts_against_node(failure_kind::node_starting));
    EXPECT_FALSE(counts_against_node(failure_kind::client_closed));
}

// A non-idempotent request whose bytes may have reached the node is never sent again, whatever the kind.
TEST(Failure, RetryNeverResendsWhatTheNodeMayHaveSeen) {
    const attempt_facts post{.idempotent = false, .body_held = true, .reused = false, .bytes_written = 10,
                             .nothing_back = true};
    EXPECT_EQ(retry_after(failure_kind::send_failed, post), resend_decision::never);
    EXPECT_EQ(retry_after(failure_kind::body_send_failed, post), resend_decision::never);
    EXPECT_EQ(retry_after(failure_kind::closed_before_head, post), resend_decision::never);
    EXPECT_EQ(retry_after(failure_kind::response_head_timeout, post), resend_decision::never);
    // Nothing reached it: a connect failure goes to another node.
    EXPECT_EQ(retry_after(failure_kind::connect_refused, post), resend_decision::another_node);
}

// An idempotent request held whole goes again: on a fresh connection after a reused one failed, else elsewhere.
TEST(Failure, RetryOfAHeldIdempotentRequest) {
    attempt_facts get{.idempotent = true, .body_held = true, .reused = true, .bytes_written = 10, .nothing_back = true};
    EXPECT_EQ(retry_after(failure_kind::send_failed, get), resend_decision::fresh_connection);
    EXPECT_EQ(retry_after(failure_kind::body_send_failed, get), resend_decision::fresh_connection);
    EXPECT_EQ(retry_after(failure_kind::closed_before_head, get), resend_decision::fresh_connection);
    get.reused = false;
    EXPECT_EQ(retry_after(failure_kind::closed_before_head, get), resend_decision::another_node);
    get.nothing_back = false;  // part of an answer came back: never again
    EXPECT_EQ(retry_after(failure_kind::invalid_response, get), resend_decision::never);
    get.body_held = false;  // a streamed body has been taken from the client
    EXPECT_EQ(retry_after(failure_kind::body_send_failed, get), resend_decision::never);
}

// A pooled connection closed before any answer is the node's idle close racing the request: not its failure.
TEST(Failure, IdleCloseRaceIsNotTheNodesFailure) {
    attempt_facts f{.idempotent = true, .body_held = true, .reused = true, .bytes_written = 0, .nothing_back = true};
    EXPECT_TRUE(idle_close_race(failure_kind::closed_before_head, f));
    EXPECT_FALSE(idle_close_race(failure_kind::response_head_timeout, f));
    f.reused = false;
    EXPECT_FALSE(idle_close_race(failure_kind::closed_before_head, f));
}

// The log explains a refused re-send only when no answer came and the request may not go again.
TEST(Failure, ExplainsNoResend) {
    const attempt_facts f{.idempotent = false, .body_held = true, .reused = false, .bytes_written = 5,
                          .nothing_back = true};
    EXPECT_TRUE(explains_no_resend(failure_kind::send_failed, f, resend_decision::never));
    EXPECT_TRUE(explains_no_resend(failure_kind::closed_before_head, f, resend_decision::never));
    EXPECT_FALSE(explains_no_resend(failure_kind::closed_before_head, f, resend_decision::another_node));
    EXPECT_FALSE(explains_no_resend(failure_kind::response_head_timeout, f, resend_decision::never));
    EXPECT_FALSE(explains_no_resend(failure_kind::body_send_failed, f, resend_decision::never));
}

// A failed TLS handshake with a node: no request byte was sent, so it goes to another node whatever the method;
// 502, counted against the node, labelled tls, and the log keeps OpenSSL's reason.
TEST(Failure, TlsHandshake) {
    const attempt_facts post{.idempotent = false, .body_held = false};
    EXPECT_EQ(retry_after(failure_kind::tls_handshake, post), resend_decision::another_node);
    EXPECT_EQ(client_status(failure_kind::tls_handshake), http::status::bad_gateway);
    EXPECT_EQ(source_of(failure_kind::tls_handshake), failure_source::node);
    EXPECT_TRUE(counts_against_node(failure_kind::tls_handshake));
    EXPECT_EQ(upstream_error_of(failure_kind::tls_handshake), metrics::upstream_error::tls);
    EXPECT_EQ(failure_reason(failure_kind::tls_handshake, "n1", "certificate verify failed"),
              "TLS handshake with n1 failed: certificate verify failed");
}
