// client_session: the request's steps before any node is chosen: check the head, write the node's head, hold or
// stream the body, and admit the request (maintenance, bypass, a node up).
#include "client_session.hpp"

#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/field_lists.hpp>
#include <gatehouse/proxy/forward_headers.hpp>
#include <gatehouse/proxy/read_drain.hpp>
#include <gatehouse/proxy/unavailable_response.hpp>
#include <gatehouse/util/constant_time.hpp>

namespace gatehouse::proxy::detail {

template <class Stream>
request_refusal client_session<Stream>::request_filter(exchange& x, const config::config& cfg, std::size_t head_length) {
    x.request.header_limit(static_cast<std::uint32_t>(cfg.limits.max_request_head + 1));
    x.request.body_limit(boost::none);  // enforced here, with a 413 before the body is read
    error_code ec;
    x.request.put(net::buffer(in_.data().data(), head_length), ec);
    if (ec || !x.request.is_header_done())
        return {.status = http::status::bad_request, .reason = "malformed request head", .parse_error = ec,
                .with_request = false};
    in_.consume(head_length);
    count_received(head_length);
    const auto& head = x.request.get();

    x.verdict = check_request(head, cfg.limits.max_request_body);
    if (!x.verdict.accepted()) return {.status = x.verdict.status, .reason = x.verdict.reason, .parse_error = {}};
    if (const auto expect = first_value(head, http::field::expect); !expect.empty()) {
        if (!beast::iequals(expect, "100-continue"))
            return {.status = http::status::expectation_failed, .reason = "only 100-continue is supported",
                    .parse_error = {}};
        x.expect_continue = head.version() >= 11 && x.verdict.framing != body_framing::none;
    }
    x.keep_alive = x.request.keep_alive();
    x.upgrade = websocket_upgrade_of(head, x.verdict.framing);
    if (const auto why = to_string(x.upgrade); !why.empty())
        log::debug(describe(&x) + ": asks for a WebSocket upgrade it may not have (" + std::string(why) +
                   "): proxied as a plain request");
    return {};
}

template <class Stream>
void client_session<Stream>::upstream_request_filter(exchange& x, const config::config& cfg,
                                                     std::size_t head_length) {
    const auto& head = x.request.get();
    const auto given_id = head["X-Request-Id"];
    if (is_sane_request_id(given_id)) {  // anything else is replaced: it reaches the node, the client and the log
        x.request_id = given_id;
    } else {
        host_.next_request_id(x.generated_id);
        x.request_id = std::string_view(x.generated_id, sizeof x.generated_id);
    }

    x.origin = resolve_client(peer_ip_, head, cfg.proxy.trusted_proxies);
    x.client_ip = logged_client(x.origin);
    forward_context fwd;
    fwd.peer_ip = peer_ip_;
    fwd.client_ip = forwarded_client(x.origin, peer_ip_);  // an unknown client is forwarded as its peer
    fwd.forwarded_hops = x.origin.hops;
    fwd.keep_forwarded_host_proto = cfg.proxy.trust_forwarded_host_proto && x.origin.peer_trusted;
    fwd.request_id = x.request_id;
    fwd.scheme = is_tls ? "https" : "http";
    fwd.strip_cookie = cfg.maintenance.bypass_cookie_name;  // the bypass secret stays at the edge
    fwd.websocket_upgrade = x.websocket();
    out_.clear();
    out_.reserve(head_length + 256);
    write_upstream_request_head(out_, head, fwd, x.verdict.framing, x.verdict.content_length);
}

template <class Stream>
admission client_session<Stream>::admit(exchange& x, node_choice& choice) {
    // Maintenance, operator decisions and node states come from the newest snapshot: a switch made before this
    // request arrived applies to it.
    x.nodes = host_.snapshot();
    x.nodes_generation = host_.nodes_generation();
    if (x.nodes->maintenance.enabled) {
        x.bypassed = bypasses_maintenance(x, x.nodes->config->maintenance);
        if (!x.bypassed) return admission::maintenance;
    }
    choice.availability = assess(x);
    choice.excluded = choice.availability.excluded;
    if (choice.availability.ejection_ignored && host_.panic_log().due(util::coarse_now_ms()))
        log::warning("every node that is up is ejected by failed requests: sending requests to them anyway");
    return choice.availability.any_ready ? admission::proceed : admission::unavailable;
}

template <class Stream>
node_availability client_session<Stream>::assess(const exchange& x) {
    // Only nodes that are up (active checks), not ejected (passive checks) and not drained, disabled or pinned
    // away (operator) may take the request; the node being verified during maintenance takes it whatever its state.
    if (!x.bypassed || !x.nodes->maintenance.verify_node)
        return assess_nodes(*x.nodes, util::coarse_now_ms(), host_.weight_factors());
    node_availability only;
    only.excluded.set();
    only.excluded.reset(*x.nodes->maintenance.verify_node);
    only.any_ready = true;
    return only;
}

template <class Stream>
bool client_session<Stream>::bypasses_maintenance(const exchange& x, const config::maintenance_config& m) const {
    if (client_in(x.origin, peer_ip_, m.bypass_cidrs)) return true;  // never for an unknown client
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
    unavailable_answer answer;
    answer.code = "APP_COMMANDING";
    answer.command = "upgrade";
    answer.message = nodes.maintenance.message;
    answer.html_page = nodes.maintenance.html_page;
    const auto retry_ms = nodes.config->maintenance.retry_after.count();
    answer.retry_after_seconds = static_cast<unsigned>((retry_ms + 999) / 1000);
    const bool keep = x.keep_alive && x.body_consumed && !host_.draining();
    out_ = unavailable_response(x.request.get(), answer, x.request_id, keep);
    add_own_fields();
    x.status = 503;
    x.own = metrics::own_reason::maintenance;
    x.maintenance = true;
    x.sent_bytes = out_.size();
    co_return co_await send_own_answer(keep);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::answer_unavailable(exchange& x, const node_availability& availability) {
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
    const bool keep = x.keep_alive && x.body_consumed && !host_.draining();
    log::warning(describe(&x) + ": 503 Service Unavailable (" +
                 (availability.all_starting ? "every node is starting" : "no node is up") + ")");
    out_ = unavailable_response(x.request.get(), answer, x.request_id, keep);
    add_own_fields();
    x.status = 503;
    x.own = metrics::own_reason::no_node;
    x.sent_bytes = out_.size();
    co_return co_await send_own_answer(keep);
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template request_refusal client_session<S>::request_filter(exchange&, const config::config&, std::size_t);    \
    template void client_session<S>::upstream_request_filter(exchange&, const config::config&, std::size_t);      \
    template admission client_session<S>::admit(exchange&, node_choice&);                                         \
    template node_availability client_session<S>::assess(const exchange&);                                        \
    template bool client_session<S>::bypasses_maintenance(const exchange&, const config::maintenance_config&) const; \
    template net::awaitable<bool> client_session<S>::answer_maintenance(exchange&, const model::snapshot&);       \
    template net::awaitable<bool> client_session<S>::answer_unavailable(exchange&, const node_availability&);
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
