// The client session: reads requests from one client connection and proxies each to a node, one at a time.
// One code path for every stream type (plain TCP now, TLS later): client_session<Stream>.
#include <gatehouse/proxy/client_session.hpp>

#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/health/http_probe.hpp>
#include <gatehouse/health/passive.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/error_response.hpp>
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/head_scan.hpp>
#include <gatehouse/proxy/request_checks.hpp>
#include <gatehouse/proxy/unavailable_response.hpp>
#include <gatehouse/server/worker.hpp>
#include <gatehouse/util/coarse_clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/parser.hpp>

#include <charconv>
#include <optional>

namespace gatehouse::proxy {
namespace {

constexpr std::uint64_t hold_limit = 64 * 1024;         // bodies up to this are read whole first: retryable
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

std::string peer_address(const tcp::socket& s) {
    error_code ec;
    const auto ep = s.remote_endpoint(ec);
    if (ec) return "unknown";
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

std::optional<std::uint64_t> parse_length(std::string_view text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

// GCC 12 may destroy a temporary twice when it lives in a full-expression containing co_await (GCC PR 100611).
// So every std::string handed to a coroutine is a named object, never a temporary in the co_await expression.

/// The outcome of one try at one node.
enum class attempt { answered, retry_fresh, retry_other, failed };

/// Counts one request in flight to one node for as long as it lives (least_request reads the counts).
class in_flight_mark {
public:
    in_flight_mark(server::worker& w, std::size_t node) : worker_(w), node_(node), generation_(w.request_started(node)) {}
    ~in_flight_mark() { worker_.request_finished(node_, generation_); }
    in_flight_mark(const in_flight_mark&) = delete;
    in_flight_mark& operator=(const in_flight_mark&) = delete;

private:
    server::worker& worker_;
    std::size_t node_;
    std::uint64_t generation_;
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

    void on_tick() override {
        if (phase_ != phase::idle) return;
        if (!idle_seen_by_tick_) {
            idle_seen_by_tick_ = true;  // idle for less than a tick so far: the next request may come at once
            return;
        }
        in_.shrink_to_fit();  // only while parked in async_wait, when nothing refers to the buffers
        up_in_.shrink_to_fit();
        out_ = std::string();
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
        std::string failure;         // why the last try failed, for the log and the 502 body
        const model::node* node = nullptr;
        bool can_retry_elsewhere = false;  // another node could take this request if this one says "starting"
        std::optional<std::string> prefetched_body;  // a small body already read (a 503 inspected for retry)
        std::optional<in_flight_mark> in_flight;  // counts this request against `node` until it ends
    };

    net::awaitable<bool> serve_request();
    net::awaitable<std::optional<std::size_t>> read_request_head(const config::config& cfg);
    net::awaitable<attempt> try_node(exchange& x, const config::config& cfg, bool reused);
    net::awaitable<bool> relay_response(exchange& x, const config::config& cfg);
    net::awaitable<void> respond_error(http::status status, std::string_view detail, const exchange* x,
                                       bool keep_alive = false);
    net::awaitable<void> linger_close();
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
        if (reusable && !timed_out_ && up_in_.size() == 0 && upstream_.is_open() && x.node) {
            owner_.pool().put(x.node->index, std::move(upstream_),
                              util::coarse_now_ms() + cfg.timeouts.upstream_idle.count());
            upstream_ = tcp::socket(owner_.context());
        } else {
            error_code ignored;
            upstream_.close(ignored);
        }
        up_in_.clear();
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
    bool idle_seen_by_tick_ = false;
    std::uint64_t peer_key_ = 0;  // ip_hash key of the socket peer
};

template <class Stream>
net::awaitable<void> client_session<Stream>::run() {
    in_.max_size(buffer_limit);
    up_in_.max_size(buffer_limit);
    for (;;) {
        if (in_.size() == 0) {
            // Buffers are released by on_tick once the connection has idled a whole tick: an idle keep-alive
            // connection then costs the session object and the socket, a busy one reuses its buffers.
            idle_seen_by_tick_ = false;
            if (owner_.draining()) break;
            const auto& t = owner_.snapshot()->config->timeouts;
            set_deadline(phase::idle, first_request_ ? t.client_header : t.client_idle);
            auto [ec] = co_await beast::get_lowest_layer(stream_).async_wait(tcp::socket::wait_read, use_tuple);
            if (ec) break;
        }
        first_request_ = false;
        if (!co_await serve_request()) break;
    }
    close_sockets();
}

template <class Stream>
net::awaitable<std::optional<std::size_t>> client_session<Stream>::read_request_head(const config::config& cfg) {
    const std::size_t max_head = cfg.limits.max_request_head;
    std::size_t scanned = 0;
    for (;;) {
        if (scanned == 0 && in_.size() > 0) {
            const std::string_view bytes(static_cast<const char*>(in_.data().data()), in_.size());
            in_.consume(leading_empty_lines(bytes));
        }
        const std::string_view bytes(static_cast<const char*>(in_.data().data()), in_.size());
        if (!bytes.empty()) {
            const auto r = scan_request_head(bytes, scanned, max_head);
            switch (r.status) {
            case head_scan_status::complete: co_return r.head_length;
            case head_scan_status::need_more: break;
            case head_scan_status::target_too_long:
                co_await respond_error(http::status::uri_too_long, "request line too long", nullptr);
                co_return std::nullopt;
            case head_scan_status::head_too_large:
                co_await respond_error(http::status::request_header_fields_too_large, "request head too large", nullptr);
                co_return std::nullopt;
            case head_scan_status::obs_fold:
                co_await respond_error(http::status::bad_request, "obsolete line folding in a header", nullptr);
                co_return std::nullopt;
            case head_scan_status::bare_lf:
                co_await respond_error(http::status::bad_request, "line not ended by CRLF", nullptr);
                co_return std::nullopt;
            }
            scanned = bytes.size();
        }
        auto [ec, n] = co_await stream_.async_read_some(in_.prepare(head_read_piece), use_tuple);
        if (ec) {
            if (timed_out_) co_await respond_error(http::status::request_timeout, "request head not received in time", nullptr);
            else if (in_.size() > 0) log::debug(describe(nullptr) + " left in the middle of a request head");
            co_return std::nullopt;
        }
        in_.commit(n);
    }
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::serve_request() {
    const model::snapshot_ptr snapshot = owner_.snapshot();  // this request keeps the snapshot it started with
    const config::config& cfg = *snapshot->config;

    set_deadline(phase::request_head, cfg.timeouts.client_header);
    const auto head_length = co_await read_request_head(cfg);
    if (!head_length) co_return false;

    exchange x;
    x.request.header_limit(static_cast<std::uint32_t>(cfg.limits.max_request_head + 1));
    x.request.body_limit(boost::none);  // enforced here, with a 413 before the body is read
    error_code ec;
    x.request.put(net::buffer(in_.data().data(), *head_length), ec);
    if (ec || !x.request.is_header_done()) {
        const std::string why = ec ? ec.message() : "malformed request head";
        co_await respond_error(http::status::bad_request, why, nullptr);
        co_return false;
    }
    in_.consume(*head_length);
    const auto& head = x.request.get();

    x.verdict = check_request(head, cfg.limits.max_request_body);
    if (!x.verdict.accepted()) {
        co_await respond_error(x.verdict.status, x.verdict.reason, &x);
        co_return false;
    }
    if (const auto expect = head[http::field::expect]; !expect.empty()) {
        if (!beast::iequals(expect, "100-continue")) {
            co_await respond_error(http::status::expectation_failed, "only 100-continue is supported", &x);
            co_return false;
        }
        x.expect_continue = head.version() >= 11 && x.verdict.framing != body_framing::none;
    }
    x.keep_alive = x.request.keep_alive();

    const auto given_id = head["X-Request-Id"];
    if (!given_id.empty()) {
        x.request_id = given_id;
    } else {
        owner_.next_request_id(x.generated_id);
        x.request_id = std::string_view(x.generated_id, sizeof x.generated_id);
    }

    forward_context fwd;
    fwd.peer_ip = peer_ip_;
    fwd.peer_trusted = is_trusted(peer_ip_, cfg.proxy.trusted_proxies);
    fwd.client_ip = fwd.peer_trusted ? client_address(peer_ip_, head["X-Forwarded-For"], cfg.proxy.trusted_proxies)
                                     : std::string_view(peer_ip_);
    fwd.request_id = x.request_id;
    out_.clear();
    out_.reserve(*head_length + 256);
    write_upstream_request_head(out_, head, fwd, x.verdict.framing, x.verdict.content_length);

    // A small body is read whole before any node is chosen, so the request can be sent again if a reused
    // connection turns out to be closed.
    x.held = x.verdict.framing == body_framing::none ||
             (x.verdict.framing == body_framing::content_length && x.verdict.content_length <= hold_limit);
    if (x.held && x.verdict.framing == body_framing::content_length) {
        set_deadline(phase::request_body, cfg.timeouts.client_idle);
        if (x.expect_continue && in_.size() < x.verdict.content_length) {
            auto [wec, wn] = co_await net::async_write(stream_, net::buffer(continue_100), use_tuple);
            if (wec) co_return false;
        }
        while (in_.size() < x.verdict.content_length) {
            auto [rec, n] = co_await stream_.async_read_some(
                in_.prepare(static_cast<std::size_t>(x.verdict.content_length - in_.size())), use_tuple);
            if (rec) {
                if (timed_out_) co_await respond_error(http::status::request_timeout, "request body not received in time", &x);
                co_return false;
            }
            in_.commit(n);
            set_deadline(phase::request_body, cfg.timeouts.client_idle);
        }
    }
    x.body_consumed = x.held;

    std::uint64_t key = peer_key_;
    if (fwd.client_ip.data() != peer_ip_.data()) {
        if (const auto ip = config::parse_ip(fwd.client_ip)) key = balancer::client_key(*ip);
    }
    // Only nodes that are up (active checks) and not ejected (passive checks) may take the request.
    const auto now_ms = util::coarse_now_ms();
    balancer::node_set excluded;
    bool any_ready = false, all_starting = !snapshot->nodes.empty();
    auto& factors = owner_.weight_factors();
    bool ramping = false;
    const auto slow_start_ms = cfg.upstream.slow_start.count();
    for (const auto& n : snapshot->nodes) {
        const auto& st = *n.status;
        if (!st.takes_traffic(now_ms)) {
            excluded.set(n.index);
            if (st.health.load(std::memory_order_relaxed) != health::node_health::starting) all_starting = false;
            continue;
        }
        any_ready = true;
        all_starting = false;
        if (slow_start_ms > 0) {
            const auto since = st.up_since_ms.load(std::memory_order_relaxed);
            double f = 1.0;
            if (since > 0 && now_ms - since < slow_start_ms) {
                f = 0.1 + 0.9 * static_cast<double>(now_ms - since) / static_cast<double>(slow_start_ms);
                ramping = true;
            }
            factors[n.index] = f;
        }
    }
    if (!any_ready) {
        if (x.held) in_.consume(x.verdict.content_length);
        unavailable_answer answer;
        if (all_starting) {
            answer.code = "APP_STARTING";
            answer.message = "The application is starting, please wait";
        } else {
            answer.message = "No node of the cluster is available";
        }
        answer.retry_after_seconds = unavailable_retry_after_s;
        const bool keep = x.keep_alive && x.body_consumed && !owner_.draining();
        log::warning(describe(&x) + ": 503 Service Unavailable (" +
                     (all_starting ? "every node is starting" : "no node is up") + ")");
        out_ = unavailable_response(head, answer, x.request_id, keep);
        set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
        auto [wec, wn] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
        if (wec) co_return false;
        if (!keep) co_await linger_close();
        co_return keep;
    }
    const std::span<const double> weight_factors = ramping ? std::span<const double>(factors) : std::span<const double>{};

    unsigned tries_left = cfg.upstream.tries;
    unsigned stale_retries = 0;
    bool fresh_only = false;
    for (;;) {
        const auto picked = owner_.balancer().pick({excluded, key, owner_.in_flight(), weight_factors});
        if (!picked) {
            if (x.held) in_.consume(x.verdict.content_length);
            if (x.failure.empty()) x.failure = "no upstream node available";
            co_await respond_error(http::status::bad_gateway, x.failure, &x, x.keep_alive && x.body_consumed);
            co_return x.keep_alive && x.body_consumed && !owner_.draining();
        }
        x.node = &snapshot->nodes[*picked];
        bool reused = false;
        if (!fresh_only) {
            if (auto pooled = owner_.pool().take(x.node->index, !x.held)) {
                upstream_ = std::move(*pooled);
                reused = true;
            }
        }
        x.in_flight.emplace(owner_, x.node->index);
        {
            auto others = excluded;
            others.set(x.node->index);
            x.can_retry_elsewhere = tries_left > 1 && x.held && others.count() < snapshot->nodes.size();
        }
        const attempt outcome = co_await try_node(x, cfg, reused);
        if (outcome == attempt::answered) break;
        if (outcome == attempt::failed) co_return false;
        if (outcome == attempt::retry_fresh && stale_retries < max_stale_retries) {
            // The node closed a pooled connection before answering (an idle close racing our request): it never
            // saw the request, so sending it again is safe. This does not count as a try.
            ++stale_retries;
            fresh_only = true;
            continue;
        }
        excluded.set(x.node->index);
        if (--tries_left == 0) {
            if (x.held) in_.consume(x.verdict.content_length);
            co_await respond_error(http::status::bad_gateway, x.failure, &x, x.keep_alive && x.body_consumed);
            co_return x.keep_alive && x.body_consumed && !owner_.draining();
        }
    }
    if (x.held) in_.consume(x.verdict.content_length);  // sent for good: the bytes after it are the next request
    co_return co_await relay_response(x, cfg);
}

template <class Stream>
net::awaitable<attempt> client_session<Stream>::try_node(exchange& x, const config::config& cfg, bool reused) {
    const auto& node = *x.node;
    if (!reused) {
        upstream_ = tcp::socket(owner_.context());
        set_deadline(phase::connect, cfg.timeouts.upstream_connect);
        auto [ec] = co_await upstream_.async_connect(node.endpoint, use_tuple);
        if (ec) {
            x.failure = "cannot connect to " + node.name + ": " + (timed_out_ ? "timed out" : ec.message());
            log::warning(describe(&x) + ": " + x.failure);
            passive_failure(x, cfg);
            error_code ignored;
            upstream_.close(ignored);
            co_return attempt::retry_other;
        }
        error_code ignored;
        upstream_.set_option(tcp::no_delay(true), ignored);
    }

    const bool retry_if_stale = reused && x.held;
    set_deadline(phase::upstream_write, cfg.timeouts.client_idle);
    {
        const std::size_t body_now =
            x.held ? static_cast<std::size_t>(x.verdict.content_length)
                   : (x.verdict.framing == body_framing::content_length
                          ? static_cast<std::size_t>(std::min<std::uint64_t>(in_.size(), x.verdict.content_length))
                          : 0);
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(in_.data().data(), body_now)};
        auto [ec, n] = co_await net::async_write(upstream_, pieces, use_tuple);
        if (ec) {
            error_code ignored;
            upstream_.close(ignored);
            if (retry_if_stale) co_return attempt::retry_fresh;
            // Nothing was taken out of in_ yet, so even a streamed body can still go to another node.
            x.failure = "node " + node.name + " failed while the request was sent: " + ec.message();
            log::warning(describe(&x) + ": " + x.failure);
            co_return attempt::retry_other;
        }
        if (!x.held && body_now > 0) {
            in_.consume(body_now);
            x.verdict.content_length -= body_now;
        }
    }

    if (!x.held) {
        // Streamed body: from here on the request cannot be sent again.
        if (x.expect_continue) {
            auto [ec, n] = co_await net::async_write(stream_, net::buffer(continue_100), use_tuple);
            if (ec) co_return attempt::failed;
        }
        const auto progress = [this, &cfg] { set_deadline(phase::request_body, cfg.timeouts.client_idle); };
        relay_result r;
        if (x.verdict.framing == body_framing::content_length) {
            r = co_await relay_content_length(stream_, in_, upstream_, x.verdict.content_length, progress);
        } else {
            r = co_await relay_parsed_body(stream_, in_, x.request, upstream_, relay_output::chunked,
                                           cfg.limits.max_request_body, progress);
        }
        if (r.failed != relay_side::none) {
            error_code ignored;
            upstream_.close(ignored);
            if (r.too_large) {
                co_await respond_error(http::status::payload_too_large, "request body too large", &x);
            } else if (r.failed == relay_side::source) {
                if (timed_out_) co_await respond_error(http::status::request_timeout, "request body not received in time", &x);
                else if (r.ec == http::error::bad_chunk || r.ec == http::error::bad_chunk_extension ||
                         r.ec == http::error::buffer_overflow || r.ec == http::error::bad_transfer_encoding ||
                         r.ec == http::error::bad_content_length || r.ec == http::error::bad_field ||
                         r.ec == http::error::bad_value)
                {
                    x.failure = "malformed request body: " + r.ec.message();
                    co_await respond_error(http::status::bad_request, x.failure, &x);
                }
                else log::debug(describe(&x) + " left while sending its body: " + r.ec.message());
            } else {
                x.failure = "node " + node.name + " failed while the request body was sent: " + r.ec.message();
                co_await respond_error(http::status::bad_gateway, x.failure, &x);
            }
            co_return attempt::failed;
        }
        x.body_consumed = true;
    }

    set_deadline(phase::response_head, cfg.timeouts.upstream_response);
    up_in_.reserve(upstream_read_reserve);
    for (int interim = 0;; ++interim) {
        x.response.emplace();
        x.response->header_limit(response_head_limit);
        x.response->body_limit(boost::none);
        if (x.request.get().method() == http::verb::head) x.response->skip(true);
        const bool had_bytes = up_in_.size() > 0;
        auto [ec, n] = co_await http::async_read_header(upstream_, up_in_, *x.response, use_tuple);
        if (ec) {
            const bool nothing_back = interim == 0 && !had_bytes && !x.response->got_some();
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            if (timed_out_) {
                x.failure = "node " + node.name + " sent no response in time";
                log::warning(describe(&x) + ": " + x.failure);
                passive_failure(x, cfg);
                co_await respond_error(http::status::gateway_timeout, x.failure, &x);
                co_return attempt::failed;
            }
            if (retry_if_stale && nothing_back) co_return attempt::retry_fresh;
            x.failure = "node " + node.name + " sent no valid response: " + ec.message();
            log::warning(describe(&x) + ": " + x.failure);
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        const unsigned status = x.response->get().result_int();
        if (status >= 200) break;
        if (status == 101 || interim + 1 >= max_interim_responses) {
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            x.failure = "node " + node.name + " sent an unexpected " + std::to_string(status) + " response";
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        // Other interim answers (102, 103) are dropped: the final one follows on the same connection.
    }

    auto& response = *x.response;
    const unsigned status = response.get().result_int();
    if (status == 503 && !response.is_done() && response.content_length() &&
        *response.content_length() <= max_inspected_503) {
        // NocoBase answers 503 "maintaining" before its app runs (a race with the health checks). Such a node
        // had no side effect, so the request may go to another node.
        std::string body;
        if (auto ec = co_await read_small_body(response, body, static_cast<std::size_t>(*response.content_length()))) {
            x.failure = "node " + node.name + " failed mid-response: " + ec.message();
            log::warning(describe(&x) + ": " + x.failure);
            error_code ignored;
            upstream_.close(ignored);
            up_in_.clear();
            co_await respond_error(http::status::bad_gateway, x.failure, &x);
            co_return attempt::failed;
        }
        const auto starting = health::nocobase_maintaining(body);
        if (!starting.empty() && x.can_retry_elsewhere) {
            log::info(describe(&x) + ": " + node.name + " answered 503 " + starting + ", sending to another node");
            release_upstream(x, response.keep_alive(), cfg);
            x.failure = "node " + node.name + " is starting (" + starting + ")";
            co_return attempt::retry_other;
        }
        x.prefetched_body = std::move(body);
    }
    if (status >= 500 && cfg.health_check.fail_on_5xx) passive_failure(x, cfg);
    else health::report_success(*node.status);
    co_return attempt::answered;
}

template <class Stream>
net::awaitable<error_code> client_session<Stream>::read_small_body(response_parser& parser, std::string& out,
                                                                   std::size_t size) {
    out.resize(size);
    parser.get().body().data = out.data();
    parser.get().body().size = size;
    while (!parser.is_done()) {
        auto [ec, n] = co_await http::async_read_some(upstream_, up_in_, parser, use_tuple);
        if (ec && ec != http::error::need_buffer) co_return ec;
        if (ec == http::error::need_buffer && !parser.is_done()) co_return make_error_code(http::error::body_limit);
    }
    out.resize(size - parser.get().body().size);
    co_return error_code{};
}

template <class Stream>
void client_session<Stream>::passive_failure(const exchange& x, const config::config& cfg) {
    const auto ejected = health::report_failure(*x.node->status, cfg.health_check, util::coarse_now_ms());
    if (ejected.count() > 0)
        log::warning(x.node->name + " ejected for " + std::to_string(ejected.count()) + " ms: " +
                     std::to_string(cfg.health_check.max_fails) + " consecutive failed requests (last: " + x.failure +
                     ")");
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::relay_response(exchange& x, const config::config& cfg) {
    auto& parser = *x.response;
    const auto& head = parser.get();
    const unsigned status = head.result_int();
    const bool head_request = x.request.get().method() == http::verb::head;
    const bool client_http10 = x.request.get().version() < 11;
    const bool bodiless = head_request || status == 204 || status == 304;

    response_head_options options;
    options.client_http10 = client_http10;
    options.request_id = x.request_id;
    bool reusable = parser.keep_alive();
    if (bodiless) {
        // HEAD and 304 answers may state the length of the body they do not carry; keep it.
        if (head_request || status == 304) {
            if (const auto cl = parse_length(head[http::field::content_length])) {
                options.framing = response_framing::content_length;
                options.content_length = *cl;
            }
        }
    } else if (const auto cl = parser.content_length()) {
        options.framing = response_framing::content_length;
        options.content_length = *cl;
    } else {
        options.framing = client_http10 ? response_framing::close_delimited : response_framing::chunked;
        if (!parser.chunked()) reusable = false;  // delimited by the node closing
    }
    options.keep_alive = x.keep_alive && !owner_.draining() && options.framing != response_framing::close_delimited;

    out_.clear();
    write_client_response_head(out_, head, options);

    const auto progress = [this, &cfg] { set_deadline(phase::response_body, cfg.timeouts.upstream_response); };
    progress();
    relay_result r;
    if (x.prefetched_body) {
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(*x.prefetched_body)};
        auto [ec, n] = co_await net::async_write(stream_, pieces, use_tuple);
        r.ec = ec;
        if (ec) r.failed = relay_side::destination;
    } else if (bodiless || (options.framing == response_framing::content_length && options.content_length == 0)) {
        auto [ec, n] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
        r.ec = ec;
        if (ec) r.failed = relay_side::destination;
    } else if (options.framing == response_framing::content_length) {
        // Head and the body bytes already read go out in one write.
        const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(up_in_.size(), options.content_length));
        const std::array<net::const_buffer, 2> pieces{net::buffer(out_), net::buffer(up_in_.data().data(), first)};
        auto [ec, n] = co_await net::async_write(stream_, pieces, use_tuple);
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::destination;
        } else {
            up_in_.consume(first);
            r = co_await relay_content_length(upstream_, up_in_, stream_, options.content_length - first, progress);
        }
    } else {
        auto [ec, n] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::destination;
        } else {
            r = co_await relay_parsed_body(upstream_, up_in_, parser, stream_,
                                           client_http10 ? relay_output::raw : relay_output::chunked, 0, progress);
        }
    }

    if (r.failed != relay_side::none) {
        if (r.failed == relay_side::source)
            log::warning(describe(&x) + ": node " + x.node->name + " failed mid-response: " +
                         (timed_out_ ? std::string("timed out") : r.ec.message()));
        release_upstream(x, false, cfg);
        co_return false;  // the client saw part of an answer: only closing tells it the answer is incomplete
    }
    release_upstream(x, reusable, cfg);
    co_return options.keep_alive;
}

template <class Stream>
net::awaitable<void> client_session<Stream>::respond_error(http::status status, std::string_view detail,
                                                          const exchange* x, bool keep_alive) {
    const auto code = static_cast<unsigned>(status);
    auto line = describe(x) + ": " + std::to_string(code) + " " + std::string(http::obsolete_reason(status)) + " (" +
                std::string(detail) + ")";
    if (code >= 500) log::warning(line);
    else log::info(line);

    keep_alive = keep_alive && !owner_.draining();
    out_ = error_response(status, detail, x ? x->request_id : std::string_view{}, keep_alive);
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
    if (!ec && !keep_alive) co_await linger_close();
}

template <class Stream>
net::awaitable<void> client_session<Stream>::linger_close() {
    // Closing with unread input makes the kernel send a reset, which can destroy the answer before the client
    // reads it. Stop sending, read what the client still sends for a short while, then close.
    auto& socket = beast::get_lowest_layer(stream_);
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    std::uint64_t drained = 0;
    char sink[4096];
    while (!ec && drained < linger_bytes) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await socket.async_read_some(net::buffer(sink), use_tuple);
        drained += n;
    }
    close_sockets();
}

}  // namespace

void start_client_session(server::worker& owner, tcp::socket&& socket) {
    auto session = std::make_shared<client_session<tcp::socket>>(owner, std::move(socket));
    net::co_spawn(owner.context(), [session]() -> net::awaitable<void> { co_await session->run(); },
                  [](std::exception_ptr e) {
                      if (!e) return;
                      try {
                          std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                          log::error(std::string("bug: exception escaped a client session: ") + ex.what());
                      }
                  });
}

}  // namespace gatehouse::proxy
