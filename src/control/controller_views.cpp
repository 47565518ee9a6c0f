// What the controller shows: /api/status, /metrics, and the counts gathered from the workers for them.
#include <gatehouse/control/controller.hpp>

#include "worker_latch.hpp"

#include <gatehouse/log/access_log_sink.hpp>
#include <gatehouse/metrics/exposition.hpp>
#include <gatehouse/util/coarse_clock.hpp>
#include <gatehouse/version.hpp>

#include <boost/json/array.hpp>

#include <algorithm>
#include <ctime>

namespace gatehouse::control {
namespace json = boost::json;
using detail::ask_every_worker;

namespace {

std::string iso8601(std::int64_t unix_ms) {
    if (unix_ms <= 0) return {};
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

json::value time_or_null(std::int64_t unix_ms) {
    if (unix_ms <= 0) return nullptr;
    return json::value(iso8601(unix_ms));
}

const char* result_name(health::check_result r) {
    switch (r) {
    case health::check_result::pass: return "pass";
    case health::check_result::starting: return "starting";
    case health::check_result::fail: return "fail";
    }
    return "fail";
}

json::object check_json(const health::check_record& c) {
    return {{"result", result_name(c.result)},
            {"detail", c.detail},
            {"at", iso8601(c.at_unix_ms)},
            {"duration_ms", c.duration_ms}};
}

/// [cluster]'s link for /metrics (`c` null: no [cluster], no samples).
metrics::cluster_sample cluster_sample_of(const cluster_status* c) {
    if (!c) return {};
    return {true, c->connection == "connected", c->failures, c->updates_received};
}

}  // namespace

net::awaitable<std::vector<worker_counts>> controller::gather_counts(bool with_counters) {
    co_return co_await ask_every_worker<worker_counts>(
        control_, workers_, [with_counters](worker_handle& w, auto reply) { w.post_counts(with_counters, reply); });
}

std::string controller::node_state(const model::node& n, std::int64_t now_ms) const {
    const auto& st = *n.status;
    const auto health = st.health.load(std::memory_order_relaxed);
    if (n.admin != node_admin::active) return to_string(n.admin);
    if (snapshot_->pinned && *snapshot_->pinned != n.index) return "draining";
    if (health == model::node_health::up && st.ejected_until_ms.load(std::memory_order_relaxed) > now_ms)
        return "ejected";
    return model::to_string(health);
}

namespace {

/// The names looked up while running, for /metrics (none without any).
std::vector<metrics::dns_sample> dns_samples(const discovery::dns_watch* dns, const model::snapshot& snap) {
    std::vector<metrics::dns_sample> out;
    for (const auto& n : dns ? dns->names() : std::vector<discovery::name_status>{}) {
        const auto from_it = std::count_if(snap.nodes.begin(), snap.nodes.end(),
                                           [&](const model::node& node) { return node.dns_name == n.name.name; });
        out.push_back({n.name.name, n.name.discovers_nodes, n.lookups_ok, n.lookups_failed,
                       static_cast<std::uint64_t>(from_it)});
    }
    return out;
}

}  // namespace

net::awaitable<std::string> controller::metrics_text() {
    const auto counts = co_await gather_counts(true);
    const auto& snap = *snapshot_;
    const auto now_ms = util::coarse_now_ms();
    metrics::scrape s;
    s.requests.nodes.resize(snap.nodes.size());
    for (const auto& n : snap.nodes) {
        metrics::node_sample ns;
        ns.name = n.name;
        ns.up = n.takes_new_requests && n.status->takes_traffic(now_ms);
        ns.state = node_state(n, now_ms);
        if (health_) {
            ns.checks = health_->checks(n.index).results;
            ns.check_duration = health_->checks(n.index).durations;
        }
        s.nodes.push_back(std::move(ns));
    }
    for (const auto& c : counts) {
        s.connections_active += c.connections - std::min(c.connections, c.idle_connections);
        s.connections_idle += c.idle_connections;
        s.requests.request_duration.add(c.counters.request_duration);
        s.requests.received_bytes += c.counters.received_bytes;
        s.requests.refused_per_client += c.counters.refused_per_client;
        s.requests.compressed_responses += c.counters.compressed_responses;
        s.requests.compression_in_bytes += c.counters.compression_in_bytes;
        s.requests.compression_out_bytes += c.counters.compression_out_bytes;
        s.requests.sent_bytes += c.counters.sent_bytes;
        for (std::size_t k = 0; k < s.requests.websocket_upgrades.size(); ++k)
            s.requests.websocket_upgrades[k] += c.counters.websocket_upgrades[k];
        s.requests.tls_handshakes += c.counters.tls_handshakes;
        s.requests.tls_resumed += c.counters.tls_resumed;
        for (std::size_t k = 0; k < s.requests.tls_handshake_failures.size(); ++k)
            s.requests.tls_handshake_failures[k] += c.counters.tls_handshake_failures[k];
        for (std::size_t k = 0; k < s.requests.idle_closed.size(); ++k)
            s.requests.idle_closed[k] += c.counters.idle_closed[k];
        for (std::size_t k = 0; k < s.requests.websocket_bytes.size(); ++k)
            s.requests.websocket_bytes[k] += c.counters.websocket_bytes[k];
        for (std::size_t r = 0; r < s.requests.own.size(); ++r)
            for (std::size_t k = 0; k < 5; ++k) s.requests.own[r][k] += c.counters.own[r][k];
        if (c.counters.nodes.size() != snap.nodes.size()) continue;  // a worker between two node lists
        for (std::size_t i = 0; i < snap.nodes.size(); ++i) {
            auto& total = s.requests.nodes[i];
            const auto& mine = c.counters.nodes[i];
            for (std::size_t k = 0; k < 5; ++k) total.responses[k] += mine.responses[k];
            total.response_time.add(mine.response_time);
            for (std::size_t k = 0; k < total.errors.size(); ++k) total.errors[k] += mine.errors[k];
            total.retries += mine.retries;
            total.connections_opened += mine.connections_opened;
            if (i < c.in_flight.size()) s.nodes[i].in_flight += c.in_flight[i];
            if (i < c.pooled.size()) s.nodes[i].idle_connections += c.pooled[i];
            if (i < c.websockets.size()) s.nodes[i].websockets += c.websockets[i];
        }
    }
    s.maintenance = state_.maintenance.enabled;
    s.cluster = cluster_sample_of(cluster());
    s.dns = dns_samples(dns_.get(), snap);
    s.reloads_ok = reloads_ok_;
    s.reloads_failed = reloads_failed_;
    s.log_lines_dropped = log::access_lines_dropped();
    s.last_reload_success_unix = static_cast<double>(last_reload_unix_ms_) / 1000.0;
    s.start_time_unix = static_cast<double>(started_unix_ms_) / 1000.0;
    s.version = version_string;
    co_return metrics::render(s);
}

json::object controller::maintenance_json() const {
    const auto& m = state_.maintenance;
    return {{"enabled", m.enabled},
            {"reason", m.reason},
            {"since", m.enabled ? time_or_null(m.since_unix_ms) : json::value(nullptr)},
            {"verify_node", m.verify_node.empty() ? json::value(nullptr) : json::value(m.verify_node)}};
}

namespace {

/// One node's requests in flight, requests and errors, summed over the workers.
struct node_totals {
    std::uint64_t in_flight = 0, requests = 0, errors = 0, websockets = 0;
};

/// Node `index`'s totals; a worker between two node lists counts for none.
node_totals sum_node(const std::vector<worker_counts>& counts, std::size_t index, std::size_t node_count) {
    node_totals t;
    for (const auto& c : counts) {
        if (c.in_flight.size() == node_count) t.in_flight += c.in_flight[index];
        if (c.websockets.size() == node_count) t.websockets += c.websockets[index];
        if (c.counters.nodes.size() != node_count) continue;
        const auto& mine = c.counters.nodes[index];
        for (auto v : mine.responses) t.requests += v;
        t.errors += mine.responses[4];
        for (auto v : mine.errors) t.errors += v;
    }
    return t;
}

/// One node in /api/status. `checker` is null when health checks are off; it is rebuilt with every reload, so its
/// node order is the snapshot's.
json::object node_json(const model::node& n, const node_totals& totals, const std::string& state, bool pinned,
                       const health::health_checker* checker, std::int64_t now_ms) {
    const auto& st = *n.status;
    const auto health = st.health.load(std::memory_order_relaxed);
    const bool ejected = st.ejected_until_ms.load(std::memory_order_relaxed) > now_ms;
    json::object node{{"name", n.name},
                      {"address", n.address},
                      {"dns", n.dns_name.empty() ? json::value(nullptr) : json::value(n.dns_name)},
                      {"weight", n.weight},
                      {"state", state},
                      {"health", model::to_string(health)},
                      {"admin", to_string(n.admin)},
                      {"pinned", pinned},
                      {"takes_traffic", n.takes_new_requests && st.takes_traffic(now_ms)},
                      {"in_flight", totals.in_flight},
                      {"websockets", totals.websockets},
                      {"requests_total", totals.requests},
                      {"errors_total", totals.errors},
                      {"ejected", ejected},
                      {"consecutive_failed_requests", st.consecutive_failures.load(std::memory_order_relaxed)}};
    json::value last = nullptr;
    json::array history;
    if (checker) {
        const auto& checks = checker->checks(n.index);
        for (const auto& c : checks.history) history.push_back(check_json(c));
        if (!checks.history.empty()) last = check_json(checks.history.back());
        node["checks_paused"] = checks.paused;
    }
    node["last_check"] = std::move(last);
    node["check_history"] = std::move(history);
    return node;
}

}  // namespace

net::awaitable<json::object> controller::status() {
    const auto counts = co_await gather_counts(true);
    const auto& snap = *snapshot_;
    const auto now_ms = util::coarse_now_ms();
    std::size_t connections = 0;
    std::uint64_t all_requests = 0, all_errors = 0;
    for (const auto& c : counts) {
        connections += c.connections;
        for (const auto& by_class : c.counters.own) {
            for (auto v : by_class) all_requests += v;
            all_errors += by_class[4];
        }
    }
    json::array nodes;
    for (const auto& n : snap.nodes) {
        const auto totals = sum_node(counts, n.index, snap.nodes.size());
        all_requests += totals.requests;
        all_errors += totals.errors;
        nodes.push_back(node_json(n, totals, node_state(n, now_ms), snap.pinned == n.index, health_.get(), now_ms));
    }

    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    json::object out{
        {"version", version_string},
        {"started_at", iso8601(started_unix_ms_)},
        {"uptime_seconds", uptime},
        {"config_file", options_.config_path},
        {"generation", snap.generation},
        {"workers", workers_.size()},
        {"client_connections", connections},
        {"requests_total", all_requests},
        {"errors_total", all_errors},
        {"balance", snap.config->upstream.balance == config::balance_policy::round_robin ? "round_robin"
                    : snap.config->upstream.balance == config::balance_policy::ip_hash   ? "ip_hash"
                                                                                          : "least_request"},
        {"health_checks", snap.config->health_check.enabled},
        {"maintenance", maintenance_json()},
        {"pinned_node", state_.pinned_node.empty() ? json::value(nullptr) : json::value(state_.pinned_node)},
        {"reloads", json::object{{"succeeded", reloads_ok_},
                                 {"failed", reloads_failed_},
                                 {"last_success", time_or_null(last_reload_unix_ms_)}}},
        {"nodes", std::move(nodes)},
        {"cluster", cluster_json()},
        {"dns", dns_json()},
    };
    co_return out;
}

}  // namespace gatehouse::control
