// client_session<Stream>: the coroutine that serves one client connection, as the request's named steps.
// Private to src/proxy. Its member functions are defined in the .cpp files beside it, each explicitly instantiated
// there for every client stream (plain TCP and TLS, tls_stream.hpp).
//
// Before the first request, on a TLS connection (tls_handshake.cpp):
//   handshake                the TLS handshake within timeouts.client_header; a failure closes the connection
//   send_close_notify        TLS close_notify before an ordinary close (bounded by a short deadline)
//                            (counted by reason), having touched no node
//
// Between requests (parking.cpp):
//   park                     idle for a whole tick: the buffers go back, run() returns, and a wait for readability
//                            holding the session starts run() again (or closes the connection when it is cancelled)
//
// The steps of one request, in order (serve_request runs them, and reads as this list):
//   read_request_head        read and check the raw head: where it ends, or why it is refused (400/414/431/408)
//   request_filter           parse it and apply the request rules: framing, Expect, limits (400/413/417/501)
//   upstream_request_filter  decide who the client is and write the head the node gets
//   plan_request_body        hold a small (or buffered) body so the request can go again, or leave it to stream
//   redirect_to_https        proxy.redirect_https on a plain connection: the 301 to https instead of a node
//   admit                    maintenance unless bypassed, then "no node is up" (503s)
//   upstream_peer            choose a node (after a reload, from the new node list, skipping nodes tried)
//   start_try                take a pooled connection for it, or none; count the request in flight
//   try_node                 connect_node (+ tls_handshake to an https:// node) unless pooled, send_request,
//                            read_final_head, inspect_503
//   fail_attempt             a failed try: record_failure, then again / elsewhere / a 5xx answer (failure.hpp)
//   next_try                 whether another try follows (tries, stale pooled connections)
//   relay_response           response_filter shapes the client's head, compression_filter decides gzip; the body is
//                            held (gzipped whole) or streamed (relay_compressed_response deflates it as it comes)
//   open_tunnel              instead of relay_response when the node switched a WebSocket upgrade: the 101, and
//                            the exchange's fields the tunnel logs copied into tunnel_ (hand_over_tunnel)
//   tunnel                   run by run() once serve_request returned (the exchange is gone): bytes both ways until
//                            both sides closed (or one failed, websocket_idle passed, its node was drained long enough)
//   finish_request           counters and the access log, whatever the exit (exchange_end)
#pragma once

#include "exchange.hpp"

#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/gzip_encoder.hpp>

#include <gatehouse/proxy/client_session.hpp>
#include <gatehouse/proxy/failure.hpp>
#include <gatehouse/proxy/node_availability.hpp>
#include <gatehouse/proxy/session_base.hpp>
#include <gatehouse/proxy/session_host.hpp>
#include <gatehouse/proxy/tls_stream.hpp>
#include <gatehouse/proxy/tunnel_pump.hpp>
#include <gatehouse/upstream/node_stream.hpp>
#include <gatehouse/util/coarse_clock.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::proxy::detail {

/// Which nodes a request may still go to, across its tries.
struct node_choice {
    node_availability availability;
    balancer::node_set excluded;
    unsigned tries_left = 0;
    unsigned stale_retries = 0;
    bool fresh_only = false;                // the next try opens a new connection (a pooled one was stale)
    std::vector<std::string> tried;         // node names; filled only when a try fails
    std::optional<std::size_t> retry_from;  // the node whose failure sends the request elsewhere (metrics)
};

/// A request head refused after parsing (status unknown: accepted): its status and reason, or the parser's error;
/// `with_request` when the log can name the request.
struct request_refusal {
    http::status status = http::status::unknown;
    std::string_view reason;
    error_code parse_error;
    bool with_request = true;
};

/// How a request body is read before a node is chosen.
enum class body_plan {
    none,    ///< no body
    hold,    ///< small: read whole into in_, so the request can go again
    buffer,  ///< proxy.request_buffering: read whole into memory or a temporary file
    stream,  ///< relayed to the node as it arrives (never sent twice)
};

/// What admit decided.
enum class admission { proceed, maintenance, unavailable };

/// How record_failure treats one failed try.
struct failure_note {
    bool log = true;      ///< a warning line now (else the error answer's own line tells it, or nothing)
    bool passive = true;  ///< report it to passive health when the kind counts against the node
};

template <class Stream>
class client_session final : public session_base, public std::enable_shared_from_this<client_session<Stream>> {
public:
    /// `peer`: the client socket's peer address, as accept returned it (no getpeername per connection).
    client_session(session_host& host, Stream&& stream, const net::ip::address& peer);
    ~client_session() override;

    /// Runs the connection (run()) on the worker's thread, `session` kept alive until run() returns.
    static void start(std::shared_ptr<client_session> session);

    /// The connection's coroutine: the TLS handshake, then its requests until it closes or parks (then the parked
    /// socket's wait starts it again).
    net::awaitable<void> run();

    // session_base: what the worker's tick and shutdown ask.
    void on_deadline(std::int64_t now_ms) override;
    void on_shutdown() override;
    void on_force_close() override;
    bool idle() const noexcept override { return phase_ == phase::idle; }
    void on_tick() override;

    /// Gives the buffers back (an idle connection then costs the session object and the socket).
    void release_buffers();
    /// Between requests, once idle for a whole tick (parking.cpp): gives the buffers back and leaves the connection
    /// to a wait for readability that holds the session and starts run() again; run() then returns, so a parked
    /// connection holds no coroutine frame. False when the stream holds input already (read it now instead).
    bool park();

    /// Keeps `owner` (the TLS certificates the connection's stream was made with) for as long as the session lives.
    void keep(std::shared_ptr<const void> owner) noexcept { owner_ = std::move(owner); }

private:
    static constexpr bool is_tls = is_tls_stream<Stream>;

    /// When the exchange ends (whatever the path): the request goes into the worker's counters and access log, and
    /// a held body leaves in_ (what follows it is the client's next request).
    struct exchange_end {
        client_session& session;
        exchange& x;
        ~exchange_end() {
            session.finish_request(x);
            session.in_.consume(static_cast<std::size_t>(x.held_length));
        }
    };

    // --- A TLS connection's handshake (tls_handshake.cpp; instantiated for the TLS stream only) ---
    net::awaitable<bool> handshake();
    void handshake_failed(const error_code& ec);
    void handshake_done() noexcept;
    /// close_notify before the connection closes (keep-alive timeout, Connection: close, graceful stop, an own
    /// answer that closes), bounded by the closing deadline; nothing when the handshake never finished or TLS failed.
    net::awaitable<void> send_close_notify();

    // --- The request's steps, in order (session_loop.cpp runs them; request_steps.cpp, node_choice.cpp) ---
    net::awaitable<bool> serve_request();
    net::awaitable<std::optional<std::size_t>> read_request_head(const config::config& cfg);
    /// Parses the head and applies the request rules; what to answer when they refuse it.
    request_refusal request_filter(exchange& x, const config::config& cfg, std::size_t head_length);
    void upstream_request_filter(exchange& x, const config::config& cfg, std::size_t head_length);
    /// Hold or stream: how the body is read (sets x.held; starts timeouts.client_body).
    body_plan plan_request_body(exchange& x, const config::config& cfg) noexcept;
    /// Reads a body of at most hold_limit whole into in_ (100 Continue first when the client waits for it).
    net::awaitable<bool> read_small_body_whole(exchange& x, const config::config& cfg);
    /// A body read whole into x.buffered goes with a Content-Length, from there.
    void body_buffered(exchange& x);
    /// The body is read (held) or left to stream: count it, and let it leave in_ when the exchange ends.
    void body_read(exchange& x) noexcept;
    /// proxy.redirect_https: the 301 to https://host/target (400 without a usable Host); true when the connection stays.
    net::awaitable<bool> redirect_to_https(exchange& x, const config::config& cfg);
    admission admit(exchange& x, node_choice& choice);
    bool bypasses_maintenance(const exchange& x, const config::maintenance_config& m) const;
    node_availability assess(const exchange& x);
    net::awaitable<bool> answer_maintenance(exchange& x, const model::snapshot& nodes);
    net::awaitable<bool> answer_unavailable(exchange& x, const node_availability& availability);
    /// The 502 after the last try (or when no node could be picked); true when the connection stays.
    net::awaitable<bool> answer_bad_gateway(exchange& x);
    std::optional<std::size_t> upstream_peer(exchange& x, node_choice& choice);
    /// Sets up a try at node `picked`: the node, a pooled connection unless `fresh_only`, the in-flight count.
    /// True when the try rides a pooled connection.
    bool start_try(exchange& x, node_choice& choice, std::size_t picked);
    /// After a failed try: true to try again, false when the tries are used up.
    bool next_try(exchange& x, node_choice& choice, attempt outcome);

    // --- One try at one node (node_attempt.cpp, response_head.cpp) ---
    net::awaitable<attempt> try_node(exchange& x, const config::config& cfg, bool reused);
    net::awaitable<error_code> connect_node(const model::node& node, const config::config& cfg);
    /// An https:// node: TLS over the connection just made (SNI, the verified name), within upstream_connect.
    net::awaitable<error_code> tls_handshake(const model::node& node, const config::config& cfg);
    net::awaitable<std::optional<attempt>> send_request(exchange& x, const config::config& cfg, bool reused);
    net::awaitable<std::optional<attempt>> stream_request_body(exchange& x, const config::config& cfg);
    /// The client's side of a streamed body failed (too large, too slow, malformed, gone): answers if it can.
    net::awaitable<void> answer_client_body_failure(exchange& x, const relay_result& r);
    net::awaitable<std::optional<attempt>> read_final_head(exchange& x, const config::config& cfg, bool reused);
    net::awaitable<std::optional<attempt>> inspect_503(exchange& x, const config::config& cfg);
    net::awaitable<error_code> read_response_head(response_parser& parser);
    net::awaitable<error_code> read_small_body(response_parser& parser, std::string& out, std::size_t size);
    /// Records a failed try: x.failure, the log line, passive health, the node's error counter.
    void record_failure(exchange& x, const config::config& cfg, failure_kind kind, std::string_view detail,
                        failure_note note = {});
    /// A try failed with `kind`: closes the node connection, records it, and goes on as retry_after decides
    /// (again on a fresh connection, on another node, or a 5xx answer now).
    net::awaitable<attempt> fail_attempt(exchange& x, const config::config& cfg, failure_kind kind,
                                         std::string_view detail, const attempt_facts& facts, failure_note note = {});
    void passive_failure(const exchange& x, const config::config& cfg);

    // --- Request bodies read whole before a node is chosen (request_buffering.cpp) ---
    net::awaitable<bool> buffer_request_body(exchange& x, const config::config& cfg);
    net::awaitable<body_failure> fill_body_buffer(exchange& x, const config::config& cfg, std::string& detail);
    net::awaitable<body_failure> read_body_bytes(const config::config& cfg, bool first, std::string& detail);
    net::awaitable<std::optional<attempt>> send_buffered_body(exchange& x, const config::config& cfg, bool reused);

    // --- The response (relay_response.cpp) ---
    net::awaitable<bool> relay_response(exchange& x, const config::config& cfg);
    /// How the client's response head is framed, and whether the node's connection can go back to the pool.
    response_head_options response_filter(const exchange& x, bool& reusable) const;
    /// A body too large to hold: the head and the bytes already read, then the rest as it comes.
    net::awaitable<relay_result> relay_streamed_response(exchange& x, const config::config& cfg,
                                                         const response_head_options& options);
    /// Reads the rest of a small response body; false when the node failed (then answered 502/504).
    net::awaitable<bool> read_held_response(exchange& x, const config::config& cfg, std::size_t length);
    /// Takes the held body out of up_in_ and gives the node's connection back (to the pool when it can).
    beast::flat_buffer take_held_response(const exchange& x, const config::config& cfg, std::size_t length,
                                          bool reusable);
    /// After the body: the node's connection back to the pool (or closed); false when the relay failed.
    bool relay_ended(exchange& x, const config::config& cfg, const relay_result& r, bool reusable);
    /// Puts the held body's buffer back into up_in_ after it was written.
    void give_back_held_response(beast::flat_buffer& held);
    // --- gzip on the way (compressed_response.cpp) ---
    /// Decides compression (proxy/compression_policy): on a yes the head becomes a gzip one (chunked, or
    /// close-delimited for HTTP/1.0; Content-Encoding, a weak ETag) and, when a body follows, the encoder is
    /// returned; `Vary: Accept-Encoding` whenever the answer depends on it.
    std::unique_ptr<gzip_encoder> compression_filter(const exchange& x, const config::config& cfg, bool bodiless,
                                                     response_head_options& options);
    /// A body not held whole, gzipped as it arrives: the head, then each piece deflated and sync-flushed whenever the
    /// node pauses, then the gzip trailer.
    net::awaitable<relay_result> relay_compressed_response(exchange& x, const config::config& cfg,
                                                           const response_head_options& options, gzip_encoder& encoder);
    void count_compression(const gzip_encoder& encoder) noexcept;
    /// Deadlines while a body streams: upstream_response waiting on the node, client_idle waiting on the client.
    void response_progress(const config::config& cfg, relay_wait wait) noexcept {
        set_deadline(phase::response_body,
                     wait == relay_wait::read ? cfg.timeouts.upstream_response : cfg.timeouts.client_idle);
    }
    /// The node failed while its response was relayed: counted and logged.
    void response_failed(exchange& x, const config::config& cfg, const relay_result& r);
    net::awaitable<error_code> read_held_body(std::size_t length, config::duration idle);

    // --- A WebSocket upgrade the node switched (tunnel.cpp) ---
    /// The 101 head with the node's bytes that followed it, and the client's bytes that followed its request head;
    /// then the exchange's buffers go back and what the tunnel keeps moves into tunnel_ (hand_over_tunnel). False:
    /// the connection ends with the tunnel, which run() runs once serve_request's frame (the exchange) is gone.
    net::awaitable<bool> open_tunnel(exchange& x, const config::config& cfg);
    /// The record the tunnel keeps: the access log fields (copied), its clocks, the in-flight count.
    void hand_over_tunnel(exchange& x, bool open);
    /// The bytes of both directions until both sides closed, one failed, websocket_idle passed without a byte,
    /// its node was drained for upstream.drain_websockets_after, or the worker stops; then its log line.
    net::awaitable<void> tunnel();
    void log_tunnel() noexcept;
    /// upstream.drain_websockets_after: once the tunnel's node is drained or disabled, its close time (on_tick).
    void watch_node_drain() noexcept;
    /// What one direction of the tunnel tells the session (proxy::byte_pump's watch).
    struct tunnel_watch {
        client_session* session;
        bool to_node;  ///< client -> node
        void writing() const noexcept { session->tunnel_writing(to_node); }
        void moved(std::string_view piece) const noexcept { session->tunnel_moved(to_node, piece); }
        void ended(const pump_result& r) const noexcept { session->tunnel_ended(to_node, r); }
        bool stopped() const noexcept { return session->tunnel_->stopped[to_node]; }
    };
    void count_tunnel_bytes(bool to_node, std::size_t n) noexcept;
    void tunnel_writing(bool to_node) noexcept;
    void tunnel_moved(bool to_node, std::string_view piece) noexcept;
    void tunnel_ended(bool to_node, const pump_result& r) noexcept;
    /// Graceful stop: the tunnel closes itself shortly before timeouts.shutdown_drain ends (and logs its line).
    void stop_tunnel_before_drain_ends() noexcept;
    /// wss: the node closed, so the client's side stops being read (the tunnel then ends with close_notify).
    void stop_reading_tls_client() noexcept;

    // --- gatehouse's own answers and the end of an exchange (answers.cpp) ---
    net::awaitable<void> respond_error(http::status status, std::string_view detail, exchange* x,
                                       bool keep_alive = false);
    /// Answers a failure that is not a node's (the client's, or gatehouse's own) with its status and reason.
    net::awaitable<void> answer_failure(exchange& x, failure_kind kind, std::string_view detail = {});
    /// Writes the answer in out_, then lingers and closes unless `keep_alive`; true when the connection stays.
    net::awaitable<bool> send_own_answer(bool keep_alive);
    net::awaitable<void> linger_close();
    /// Fields every own answer in out_ carries on this stream: tls.hsts on TLS.
    void add_own_fields();
    void finish_request(const exchange& x) noexcept;
    void count_request(const exchange& x, double request_time) noexcept;
    void count_websocket_upgrade(const exchange& x) noexcept;
    void log_request(const exchange& x, double request_time) noexcept;
    /// The access log fields of an exchange (views into it; request_time and unix_ms left to the caller).
    log::access_record access_of(const exchange& x) const noexcept;
    /// Records an answer given before the request head could be parsed (no exchange yet).
    void record_headless_answer(unsigned status, std::uint64_t sent_bytes) noexcept;

    // --- Small shared pieces ---
    void count_upstream_error(const exchange& x, metrics::upstream_error e) noexcept;
    void count_received(std::uint64_t n) noexcept {
        if (host_.counting()) host_.counters().received_bytes += n;
    }
    /// timeouts.client_body starts now: the request body must be complete by then.
    void start_body_clock(const config::config& cfg) noexcept {
        const auto limit = cfg.timeouts.client_body.count();
        body_deadline_ms_ = limit > 0 ? util::coarse_now_ms() + limit : std::numeric_limits<std::int64_t>::max();
    }
    /// Waiting for request body bytes: client_idle from now, but never past the body's total limit.
    void set_body_deadline(const config::config& cfg) noexcept {
        set_deadline(phase::request_body, cfg.timeouts.client_idle);
        deadline_ms_ = std::min(deadline_ms_, body_deadline_ms_);
    }
    void set_deadline(phase p, config::duration d) noexcept {
        phase_ = p;
        timed_out_ = false;
        deadline_ms_ = util::coarse_now_ms() + d.count();
    }
    void cancel_sockets() noexcept;
    void close_sockets() noexcept;
    void close_upstream() noexcept {
        error_code ignored;
        upstream_.close(ignored);
    }
    void release_upstream(const exchange& x, bool reusable, const config::config& cfg);
    std::string describe(const exchange* x) const;

    session_host& host_;
    std::shared_ptr<const void> owner_;  // the TLS certificates stream_ uses (declared first: outlives stream_)
    Stream stream_;
    upstream::node_stream upstream_;  // plain TCP, or TLS to an https:// node
    beast::flat_buffer in_;     // bytes from the client not yet used
    beast::flat_buffer up_in_;  // bytes from the node not yet used
    std::string out_;           // the head being written
    std::string peer_ip_;
    std::chrono::steady_clock::time_point request_started_;  // when the current request head began to arrive
    // The one-byte members side by side: with them the object stays within tcmalloc's 512-byte size class.
    phase phase_ = phase::idle;
    bool timed_out_ = false;
    bool first_request_ = true;
    bool idle_seen_by_tick_ = false;
    bool parked_in_read_ = false;  // waiting for the next request inside a read into in_
    bool park_cancelled_ = false;  // on_tick cancelled that read to park
    bool resumed_ = false;         // run() starts again after park (no handshake, the buffers' limits are set)
    bool wake_failed_ = false;     // ... because the parked wait failed: close the connection
    std::uint64_t peer_key_ = 0;  // ip_hash key of the socket peer
    std::int64_t body_deadline_ms_ = std::numeric_limits<std::int64_t>::max();  // timeouts.client_body's end
    std::unique_ptr<tunnel_record> tunnel_;  // the WebSocket tunnel being opened or open, if any
    std::int64_t tunnel_idle_ms_ = 0;     // timeouts.websocket_idle
    std::int64_t tunnel_stall_ms_ = 0;    // timeouts.client_idle: the longest a write may wait on either side
};

}  // namespace gatehouse::proxy::detail
