// client_session: the connection loop, reading and checking a request head, choosing nodes.
#pragma once

#include "client_session.hpp"

namespace gatehouse::proxy::detail {

template <class Stream>
net::awaitable<void> client_session<Stream>::run() {
    in_.max_size(buffer_limit);
    up_in_.max_size(buffer_limit);
    for (;;) {
        if (in_.size() == 0) {
            // A connection between requests parks in a read straight into in_ (no extra readiness wait: one system
            // call less per request). Once it has idled a whole tick, on_tick stops that read, the buffers go back
            // and it parks in a buffer-less readiness wait: an idle keep-alive connection then costs the session
            // object and the socket, a busy one keeps its buffers.
            idle_seen_by_tick_ = false;
            if (owner_.draining()) break;
            const auto& t = owner_.snapshot()->config->timeouts;
            set_deadline(phase::idle, first_request_ ? t.client_header : t.client_idle);
            if (!buffers_released_) {
                parked_in_read_ = true;
                auto [ec, n] = co_await read_some_unless_drained(stream_, in_.prepare(head_read_piece));
                parked_in_read_ = false;
                const bool released_by_tick = std::exchange(park_cancelled_, false);
                if (ec == net::error::operation_aborted && released_by_tick && !timed_out_ && !owner_.draining()) {
                    release_buffers();
                    continue;
                }
                if (ec) break;
                in_.commit(n);
            } else {
                auto [ec] = co_await beast::get_lowest_layer(stream_).async_wait(tcp::socket::wait_read, use_tuple);
                if (ec) break;
                buffers_released_ = false;
            }
        }
        first_request_ = false;
        if (!co_await serve_request()) break;
    }
    close_sockets();
}

template <class Stream>
net::awaitable<std::optional<std::size_t>> client_session<Stream>::read_request_head(const config::config& cfg) {
    request_head_reader reader(cfg.limits.max_request_head);
    for (;;) {
        const auto progress = reader.next(std::string_view(static_cast<const char*>(in_.data().data()), in_.size()));
        in_.consume(progress.skip);
        if (progress.status == head_scan_status::complete) co_return progress.head_length;
        if (progress.status != head_scan_status::need_more) {
            const auto rejected = rejection_of(progress.status);
            co_await respond_error(rejected.status, rejected.reason, nullptr);
            co_return std::nullopt;
        }
        auto [ec, n] = co_await read_some_unless_drained(stream_, in_.prepare(head_read_piece));
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
    request_started_ = std::chrono::steady_clock::now();

    set_deadline(phase::request_head, cfg.timeouts.client_header);
    const auto head_length = co_await read_request_head(cfg);
    if (!head_length) co_return false;

    exchange x;
    x.started = request_started_;
    const request_record record{*this, x};  // counts and logs the request however it ends
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
    count_received(*head_length);
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
    if (is_sane_request_id(given_id)) {  // anything else is replaced: it reaches the node, the client and the log
        x.request_id = given_id;
    } else {
        owner_.next_request_id(x.generated_id);
        x.request_id = std::string_view(x.generated_id, sizeof x.generated_id);
    }

    const client_origin origin = resolve_client(peer_ip_, head, cfg.proxy.trusted_proxies);
    x.client_ip = logged_client(origin);
    forward_context fwd;
    fwd.peer_ip = peer_ip_;
    fwd.client_ip = forwarded_client(origin, peer_ip_);  // an unknown client is forwarded as its peer
    fwd.forwarded_hops = origin.hops;
    fwd.keep_forwarded_host_proto = cfg.proxy.trust_forwarded_host_proto && origin.peer_trusted;
    fwd.request_id = x.request_id;
    fwd.strip_cookie = cfg.maintenance.bypass_cookie_name;  // the bypass secret stays at the edge
    out_.clear();
    out_.reserve(*head_length + 256);
    write_upstream_request_head(out_, head, fwd, x.verdict.framing, x.verdict.content_length);

    start_body_clock(cfg);  // timeouts.client_body: the whole body, however it is read
    // A small body is read whole before any node is chosen, so the request can be sent again if a reused
    // connection turns out to be closed.
    x.held = x.verdict.framing == body_framing::none ||
             (x.verdict.framing == body_framing::content_length && x.verdict.content_length <= hold_limit);
    if (x.held && x.verdict.framing == body_framing::content_length) {
        set_body_deadline(cfg);
        if (x.expect_continue && in_.size() < x.verdict.content_length) {
            auto [wec, wn] = co_await eager_write(stream_, net::buffer(continue_100));
            if (wec) co_return false;
        }
        while (in_.size() < x.verdict.content_length) {
            auto [rec, n] = co_await read_some_unless_drained(
                stream_, in_.prepare(static_cast<std::size_t>(x.verdict.content_length - in_.size())));
            if (rec) {
                if (timed_out_) co_await respond_error(http::status::request_timeout, "request body not received in time", &x);
                co_return false;
            }
            in_.commit(n);
            set_body_deadline(cfg);
        }
    }
    if (!x.held && cfg.proxy.request_buffering) {
        // Any other body is read whole too (memory, then a temporary file) before a node is chosen: a slow client
        // never holds a node connection, and the body can be sent again. It goes with a Content-Length.
        // The head in out_ was written before the body (trailers, which Beast adds to the parsed head, stay out).
        if (!co_await buffer_request_body(x, cfg)) co_return false;
        if (x.verdict.framing == body_framing::chunked) reframe_chunked_head(out_, x.buffered->size());
        x.verdict.framing = body_framing::content_length;
        x.verdict.content_length = 0;  // body bytes in in_: none, they are all in x.buffered
        x.held = true;
    }
    x.body_consumed = x.held;
    if (x.held) count_received(x.verdict.content_length);

    const std::uint64_t key = origin.ip ? balancer::client_key(*origin.ip) : peer_key_;  // unknown: as its peer

    // Maintenance, operator decisions and node states come from the newest snapshot: a switch made before this
    // request arrived applies to it.
    x.nodes = owner_.snapshot();
    x.nodes_generation = owner_.nodes_generation();
    if (x.nodes->maintenance.enabled) {
        x.bypassed = bypasses_maintenance(x, x.nodes->config->maintenance, origin);
        if (!x.bypassed) co_return co_await answer_maintenance(x, *x.nodes);
    }

    // Only nodes that are up (active checks), not ejected (passive checks) and not drained, disabled or pinned away
    // (operator) may take the request; the node being verified during maintenance takes it whatever its state.
    auto& factors = owner_.weight_factors();
    const auto assess = [&]() {  // from the current x.nodes (a reload during retries may have changed it)
        if (!x.bypassed || !x.nodes->maintenance.verify_node) return assess_nodes(*x.nodes, util::coarse_now_ms(), factors);
        node_availability only;
        only.excluded.set();
        only.excluded.reset(*x.nodes->maintenance.verify_node);
        only.any_ready = true;
        return only;
    };
    auto availability = assess();
    auto excluded = availability.excluded;
    if (availability.ejection_ignored && owner_.panic_log().due(util::coarse_now_ms()))
        log::warning("every node that is up is ejected by failed requests: sending requests to them anyway");
    if (!availability.any_ready) {
        if (x.held) in_.consume(x.verdict.content_length);
        unavailable_answer answer;
        if (availability.all_starting) {
            answer.code = "APP_STARTING";
            answer.message = "The application is starting, please wait";
            answer.html_page = x.nodes->starting_html_page;
        } else {
            answer.message = "No node of the cluster is available";
            answer.html_page = x.nodes->unavailable_html_page;
        }
        answer.retry_after_seconds = unavailable_retry_after_s;
        const bool keep = x.keep_alive && x.body_consumed && !owner_.draining();
        log::warning(describe(&x) + ": 503 Service Unavailable (" +
                     (availability.all_starting ? "every node is starting" : "no node is up") + ")");
        out_ = unavailable_response(head, answer, x.request_id, keep);
        x.status = 503;
        x.own = metrics::own_reason::no_node;
        x.sent_bytes = out_.size();
        co_return co_await send_own_answer(keep);
    }

    unsigned tries_left = cfg.upstream.tries;
    unsigned stale_retries = 0;
    bool fresh_only = false;
    std::vector<std::string> tried;  // node names; filled only when a try fails
    std::optional<std::size_t> retry_from;  // the node whose failure sends the request elsewhere (metrics)
    for (;;) {
        if (x.nodes_generation != owner_.nodes_generation()) {
            // A reload changed the node list since the last pick: node indexes mean other nodes now.
            x.nodes = owner_.snapshot();
            x.nodes_generation = owner_.nodes_generation();
            availability = assess();
            excluded = availability.excluded;
            for (const auto& n : x.nodes->nodes)
                if (std::find(tried.begin(), tried.end(), n.name) != tried.end()) excluded.set(n.index);
            fresh_only = false;
            retry_from.reset();
        }
        const std::span<const double> weight_factors =
            availability.ramping ? std::span<const double>(factors) : std::span<const double>{};
        const auto picked = owner_.balancer().pick({excluded, key, owner_.in_flight(), weight_factors});
        if (!picked) {
            if (x.held) in_.consume(x.verdict.content_length);
            if (x.failure.empty()) x.failure = "no upstream node available";
            co_await respond_error(http::status::bad_gateway, x.failure, &x, x.keep_alive && x.body_consumed);
            co_return x.keep_alive && x.body_consumed && !owner_.draining();
        }
        if (retry_from && owner_.counting() && x.nodes_generation == owner_.nodes_generation())
            ++owner_.counters().nodes[*retry_from].retries;  // the request goes to another node after all
        retry_from.reset();
        x.node = &x.nodes->nodes[*picked];
        bool reused = false;
        if (!fresh_only) {
            const auto window = reuse_window_ms(resendable(head.method(), x.held));
            if (auto pooled = owner_.pool().take(x.node->index, window, usable_node_connection)) {
                upstream_ = std::move(*pooled);
                reused = true;
            }
        }
        x.in_flight.emplace(owner_, *this, x.node->index);
        {
            auto others = excluded;
            others.set(x.node->index);
            x.can_retry_elsewhere = tries_left > 1 && x.held && others.count() < x.nodes->nodes.size();
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
        tried.push_back(x.node->name);
        retry_from = x.node->index;
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
bool client_session<Stream>::bypasses_maintenance(const exchange& x, const config::maintenance_config& m,
                                                  const client_origin& client) const {
    if (client_in(client, peer_ip_, m.bypass_cidrs)) return true;  // never for an unknown client
    if (m.bypass_cookie_name.empty()) return false;
    const auto& head = x.request.get();
    for (auto it = head.find(http::field::cookie); it != head.end() && it->name() == http::field::cookie; ++it) {
        std::string_view cookies = it->value();
        while (!cookies.empty()) {
            const auto end = cookies.find(';');
            const std::string_view pair = trim_ows(cookies.substr(0, end));
            cookies = end == std::string_view::npos ? std::string_view{} : cookies.substr(end + 1);
            const auto eq = pair.find('=');
            if (eq == std::string_view::npos || pair.substr(0, eq) != m.bypass_cookie_name) continue;
            if (util::constant_time_equal(pair.substr(eq + 1), m.bypass_cookie_value)) return true;
        }
    }
    return false;
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::answer_maintenance(exchange& x, const model::snapshot& nodes) {
    if (x.held) in_.consume(x.verdict.content_length);
    unavailable_answer answer;
    answer.code = "APP_COMMANDING";
    answer.command = "upgrade";
    answer.message = nodes.maintenance.message;
    answer.html_page = nodes.maintenance.html_page;
    const auto retry_ms = nodes.config->maintenance.retry_after.count();
    answer.retry_after_seconds = static_cast<unsigned>((retry_ms + 999) / 1000);
    const bool keep = x.keep_alive && x.body_consumed && !owner_.draining();
    out_ = unavailable_response(x.request.get(), answer, x.request_id, keep);
    x.status = 503;
    x.own = metrics::own_reason::maintenance;
    x.maintenance = true;
    x.sent_bytes = out_.size();
    co_return co_await send_own_answer(keep);
}

}  // namespace gatehouse::proxy::detail
