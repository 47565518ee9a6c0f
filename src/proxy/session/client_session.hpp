// client_session<Stream>: the coroutine that serves one client connection (declaration and shared pieces).
// Private to src/proxy; its member functions are in the .ipp files beside it, instantiated in client_session.cpp.
#pragma once

#include <gatehouse/proxy/client_session.hpp>
#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/health/http_probe.hpp>
#include <gatehouse/health/passive.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/error_response.hpp>
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/head_reader.hpp>
#include <gatehouse/proxy/failure.hpp>
#include <gatehouse/proxy/node_availability.hpp>
#include <gatehouse/proxy/node_reuse.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/request_body_buffer.hpp>
#include <gatehouse/proxy/request_checks.hpp>
#include <gatehouse/proxy/unavailable_response.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/proxy/field_lists.hpp>
#include <gatehouse/server/worker.hpp>
#include <gatehouse/util/coarse_clock.hpp>
#include <gatehouse/util/constant_time.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <vector>

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
constexpr std::uint64_t max_inspected_503 = 64 * 1024;  // a 503 body this small is read to see if it is NocoBase's
constexpr unsigned unavailable_retry_after_s = 10;
constexpr unsigned max_stale_retries = 2;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

/// What the session is waiting for; decides which timeout applies and what a timeout means.
enum class phase { idle, request_head, request_body, connect, upstream_write, response_head, response_body, closing };

using request_parser = http::request_parser<http::buffer_body>;
using response_parser = http::response_parser<http::buffer_body>;

inline std::string peer_address(const tcp::socket& s) {
    error_code ec;
    const auto ep = s.remote_endpoint(ec);
    if (ec) return "unknown";
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

inline std::optional<std::uint64_t> parse_length(std::string_view text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

// GCC 12 may destroy a temporary twice when it lives in a full-expression containing co_await (GCC PR 100611).
// So every std::string handed to a coroutine is a named object, never a temporary in the co_await expression.

/// The outcome of one try at one node.
enum class attempt { answered, retry_fresh, retry_other, failed };

/// Why a request body could not be buffered (each has its own answer, or none when the client left).
enum class body_failure { none, client_left, timed_out, framing_too_long, malformed, too_large, not_stored };

/// Counts one request in flight to one node for as long as it lives (least_request reads the counts).
class in_flight_mark {
public:
    in_flight_mark(server::worker& w, server::session_base& s, std::size_t node) : worker_(w), session_(s) {
        worker_.request_started(session_, node);
    }
    ~in_flight_mark() { worker_.request_finished(session_); }
    in_flight_mark(const in_flight_mark&) = delete;
    in_flight_mark& operator=(const in_flight_mark&) = delete;

private:
    server::worker& worker_;
    server::session_base& session_;
};

template <class Stream>
class client_session final : public server::session_base,
                             public std::enable_shared_from_this<client_session<Stream>> {
public:
    client_session(server::worker& owner, Stream&& stream)
        : owner_(owner), stream_(std::move(stream)), upstream_(owner.context()) {
        peer_ip_ = peer_address(beast::get_lowest_layer(stream_));
        if (const auto ip = config::parse_ip(peer_ip_)) peer_key_ = balancer::client_key(*ip);
        owner_.link(*this);
    }

    ~client_session() override {
        unlink();
        owner_.unlinked();
    }

    net::awaitable<void> run();

    void on_deadline(std::int64_t now_ms) override {
        if (!timed_out_) {
            timed_out_ = true;
            cancel_sockets();
            deadline_ms_ = now_ms + timeout_grace_ms;
        } else {
            close_sockets();
            deadline_ms_ = std::numeric_limits<std::int64_t>::max();
        }
    }

    void on_shutdown() override {
        if (phase_ == phase::idle) cancel_sockets();
    }

    void on_force_close() override { close_sockets(); }

    bool idle() const noexcept override { return phase_ == phase::idle; }

    void on_tick() override {
        if (phase_ != phase::idle) return;
        if (!idle_seen_by_tick_) {
            idle_seen_by_tick_ = true;  // idle for less than a tick so far: the next request may come at once
            return;
        }
        // Idle for a whole tick while parked in a read into in_: stop that read so run() can give the buffers
        // back and park again in a buffer-less wait.
        if (parked_in_read_ && !park_cancelled_) {
            park_cancelled_ = true;
            error_code ignored;
            beast::get_lowest_layer(stream_).cancel(ignored);
        }
    }

    /// Gives the buffers back (an idle connection then costs the session object and the socket).
    void release_buffers() {
        in_.shrink_to_fit();
        up_in_.shrink_to_fit();
        out_ = std::string();
        buffers_released_ = true;
    }

private:
    // Per-request state that the helper coroutines share; lives on serve_request's frame.
    struct exchange {
        request_parser request;
        std::optional<response_parser> response;
        request_verdict verdict;
        bool held = false;           // whole body in in_: the request can be sent again
        bool body_consumed = false;  // the client's body has been read entirely
        bool expect_continue = false;
        bool keep_alive = false;
        std::string_view request_id;
        char generated_id[32];
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
    };

    /// Records the request in the worker's counters and access log when the exchange ends (whatever the path).
    struct request_record {
        client_session& session;
        exchange& x;
        ~request_record() { session.finish_request(x); }
    };
    void finish_request(const exchange& x) noexcept;
    /// Records an answer given before the request head could be parsed (no exchange yet).
    void record_headless_answer(unsigned status, std::uint64_t sent_bytes) noexcept;
    void count_upstream_error(const exchange& x, metrics::upstream_error e) noexcept {
        if (!owner_.counting() || !x.node || x.nodes_generation != owner_.nodes_generation()) return;
        if (x.node->index < owner_.counters().nodes.size())
            ++owner_.counters().nodes[x.node->index].errors[static_cast<std::size_t>(e)];
    }
    void count_received(std::uint64_t n) noexcept {
        if (owner_.counting()) owner_.counters().received_bytes += n;
    }

    net::awaitable<bool> serve_request();
    /// Answers with the maintenance page or JSON (maintenance on, client not bypassing).
    net::awaitable<bool> answer_maintenance(exchange& x, const model::snapshot& nodes);
    /// True when this request bypasses maintenance: client address in bypass_cidrs, or the secret cookie.
    bool bypasses_maintenance(const exchange& x, const config::maintenance_config& m, const client_origin& client) const;
    net::awaitable<std::optional<std::size_t>> read_request_head(const config::config& cfg);
    net::awaitable<attempt> try_node(exchange& x, const config::config& cfg, bool reused);
    /// Reads the whole request body into x.buffered (de-chunked); answers 400/408/413/500 itself and returns false
    /// when it cannot.
    net::awaitable<bool> buffer_request_body(exchange& x, const config::config& cfg);
    /// The reading and parsing loop of buffer_request_body; `detail` gets the parser's or the buffer's error.
    net::awaitable<body_failure> fill_body_buffer(exchange& x, const config::config& cfg, std::string& detail);
    /// Reads more request body bytes into in_: the first read directly, later ones through the event loop.
    net::awaitable<body_failure> read_body_bytes(const config::config& cfg, bool first, std::string& detail);
    /// Sends x.buffered to the node after the head, in pieces; nullopt when sent, else what the try came to.
    net::awaitable<std::optional<attempt>> send_buffered_body(exchange& x, const config::config& cfg, bool reused);
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
    net::awaitable<bool> relay_response(exchange& x, const config::config& cfg);
    /// Reads until up_in_ holds `length` bytes (a whole body of at most response_hold_limit); the node may pause
    /// at most `idle` between pieces.
    net::awaitable<error_code> read_held_body(std::size_t length, config::duration idle);
    net::awaitable<void> respond_error(http::status status, std::string_view detail, exchange* x,
                                       bool keep_alive = false);
    net::awaitable<void> linger_close();
    /// Writes the answer in out_, then lingers and closes unless `keep_alive`; true when the connection stays.
    net::awaitable<bool> send_own_answer(bool keep_alive);
    /// Reads the node's response head into `parser` (bytes after it stay in up_in_).
    net::awaitable<error_code> read_response_head(response_parser& parser);
    net::awaitable<error_code> read_small_body(response_parser& parser, std::string& out, std::size_t size);
    void passive_failure(const exchange& x, const config::config& cfg);

    void set_deadline(phase p, config::duration d) noexcept {
        phase_ = p;
        timed_out_ = false;
        deadline_ms_ = util::coarse_now_ms() + d.count();
    }
    void cancel_sockets() noexcept {
        error_code ignored;
        beast::get_lowest_layer(stream_).cancel(ignored);
        upstream_.cancel(ignored);
    }
    void close_sockets() noexcept {
        error_code ignored;
        beast::get_lowest_layer(stream_).close(ignored);
        upstream_.close(ignored);
    }
    void release_upstream(const exchange& x, bool reusable, const config::config& cfg) {
        if (reusable && !timed_out_ && up_in_.size() == 0 && upstream_.is_open() && x.node &&
            x.nodes_generation == owner_.nodes_generation()) {
            owner_.pool().put(x.node->index, std::move(upstream_),
                              util::coarse_now_ms() + cfg.timeouts.upstream_idle.count());
            upstream_ = tcp::socket(owner_.context());
        } else {
            error_code ignored;
            upstream_.close(ignored);
        }
        up_in_.clear();
    }
    /// Why a request that may have reached a node is not sent again, for the log.
    static std::string never_sent_twice(const exchange& x) {
        const auto& h = x.request.get();
        if (!is_idempotent(h.method()))
            return " (the node may have received it; a " + std::string(h.method_string()) + " is never sent twice)";
        return " (its body was streamed, so it cannot be sent again)";
    }
    std::string describe(const exchange* x) const {
        std::string s = "client " + peer_ip_;
        if (x && x->request.is_header_done()) {
            const auto& h = x->request.get();
            s.append(" \"").append(h.method_string()).append(" ").append(h.target()).append("\"");
        }
        return s;
    }

    server::worker& owner_;
    Stream stream_;
    tcp::socket upstream_;
    beast::flat_buffer in_;     // bytes from the client not yet used
    beast::flat_buffer up_in_;  // bytes from the node not yet used
    std::string out_;           // the head being written
    std::string peer_ip_;
    phase phase_ = phase::idle;
    bool timed_out_ = false;
    bool first_request_ = true;
    std::chrono::steady_clock::time_point request_started_;  // when the current request head began to arrive
    bool idle_seen_by_tick_ = false;
    bool parked_in_read_ = false;    // waiting for the next request inside a read into in_
    bool park_cancelled_ = false;    // on_tick cancelled that read to release the buffers
    bool buffers_released_ = false;  // parked without buffers: wait for readability before allocating
    std::uint64_t peer_key_ = 0;  // ip_hash key of the socket peer
    std::int64_t body_deadline_ms_ = std::numeric_limits<std::int64_t>::max();  // timeouts.client_body's end
};

}  // namespace gatehouse::proxy::detail
