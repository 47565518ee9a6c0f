// Building the metric families of one scrape and serializing them.
#include <gatehouse/metrics/exposition.hpp>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace gatehouse::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* class_names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

MetricFamily family(std::string name, std::string help, MetricType type) {
    MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
}

ClientMetric gauge(std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    return m;
}

ClientMetric counter(std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    return m;
}

ClientMetric histogram_metric(std::vector<ClientMetric::Label> labels, const histogram& h) {
    ClientMetric m;
    m.label = std::move(labels);
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < duration_bounds.size(); ++i) {
        cumulative += h.buckets[i];
        m.histogram.bucket.push_back({cumulative, duration_bounds[i]});
    }
    cumulative += h.buckets.back();
    m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    return m;
}

/// Appends one family with its samples.
void add_family(std::vector<MetricFamily>& out, std::string name, std::string help, MetricType type,
                std::vector<ClientMetric> samples) {
    auto f = family(std::move(name), std::move(help), type);
    f.metric = std::move(samples);
    out.push_back(std::move(f));
}

/// process_* from /proc/self (Linux), like the official clients export.
void add_process_metrics(std::vector<MetricFamily>& out, double start_time_unix) {
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    double cpu = 0, rss = 0, vsize = 0;
    {
        std::ifstream in("/proc/self/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // Fields after the command name, which is in parentheses and may contain spaces.
        const auto close = text.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(text.substr(close + 2));
            std::string f;
            for (int i = 3; fields >> f; ++i) {
                if (i == 14) cpu += std::strtod(f.c_str(), nullptr) / ticks;        // utime
                else if (i == 15) cpu += std::strtod(f.c_str(), nullptr) / ticks;   // stime
                else if (i == 23) vsize = std::strtod(f.c_str(), nullptr);          // bytes
                else if (i == 24) rss = std::strtod(f.c_str(), nullptr) * page;     // pages
            }
        }
    }
    double fds = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++fds;
        ::closedir(d);
        fds -= 1;  // the directory stream itself
    }
    rlimit limit{};
    const double max_fds = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<double>(limit.rlim_cur) : 0;

    add_family(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter, {counter({}, cpu)});
    add_family(out, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
               {gauge({}, rss)});
    add_family(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
               {gauge({}, vsize)});
    add_family(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge, {gauge({}, fds)});
    add_family(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
               {gauge({}, max_fds)});
    add_family(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
               MetricType::Gauge, {gauge({}, start_time_unix)});
}

/// gatehouse_http_requests_total and gatehouse_http_request_duration_seconds.
void add_request_families(std::vector<MetricFamily>& out, const scrape& s) {
    const auto& req = s.requests;
    auto requests = family("gatehouse_http_requests_total",
                           "Requests answered, by node and status class; node=\"none\" with a reason for answers "
                           "gatehouse gave itself.",
                           MetricType::Counter);
    for (std::size_t i = 0; i < s.nodes.size() && i < req.nodes.size(); ++i)
        for (std::size_t c = 0; c < 5; ++c)
            if (req.nodes[i].responses[c] != 0 || c == 1)
                requests.metric.push_back(
                    counter({{"code", class_names[c]}, {"node", s.nodes[i].name}}, double(req.nodes[i].responses[c])));
    for (std::size_t r = 0; r < req.own.size(); ++r)
        for (std::size_t c = 0; c < 5; ++c)
            if (req.own[r][c] != 0)
                requests.metric.push_back(counter(
                    {{"code", class_names[c]}, {"node", "none"}, {"reason", to_string(static_cast<own_reason>(r))}},
                    double(req.own[r][c])));
    out.push_back(std::move(requests));
    add_family(out, "gatehouse_http_request_duration_seconds", "Time from a request head to the end of its answer.",
               MetricType::Histogram, {histogram_metric({}, req.request_duration)});
}

/// The families with one sample set per node, in the order they are written.
struct node_families {
    MetricFamily upstream_duration = family("gatehouse_upstream_response_duration_seconds",
                                            "Time from sending a request to a node until its response head.",
                                            MetricType::Histogram);
    MetricFamily errors =
        family("gatehouse_upstream_errors_total", "Failed exchanges with a node, by kind.", MetricType::Counter);
    MetricFamily retries = family("gatehouse_retries_total",
                                  "Requests sent to another node after this node failed them.", MetricType::Counter);
    MetricFamily up = family("gatehouse_node_up", "1 when the node takes traffic.", MetricType::Gauge);
    MetricFamily state = family("gatehouse_node_state",
                                "The node's state: 1 for its current state, 0 for the others.", MetricType::Gauge);
    MetricFamily checks =
        family("gatehouse_health_checks_total", "Active health checks by result.", MetricType::Counter);
    MetricFamily check_duration = family("gatehouse_health_check_duration_seconds",
                                         "Duration of active health checks.", MetricType::Histogram);
    MetricFamily upstream_connections = family("gatehouse_upstream_connections",
                                               "Connections to nodes: active (a request in flight) or idle (pooled).",
                                               MetricType::Gauge);
    MetricFamily opened = family("gatehouse_upstream_connections_opened_total",
                                 "New connections opened to the node (not taken from the idle pool).",
                                 MetricType::Counter);
    MetricFamily websockets =
        family("gatehouse_websocket_connections", "Open WebSocket tunnels to the node.", MetricType::Gauge);
};

/// Node `i`'s samples in every per-node family.
void add_node(node_families& f, const scrape& s, std::size_t i) {
    constexpr const char* check_results[3] = {"pass", "starting", "fail"};
    const auto& req = s.requests;
    const auto& n = s.nodes[i];
    if (i < req.nodes.size()) {
        f.upstream_duration.metric.push_back(histogram_metric({{"node", n.name}}, req.nodes[i].response_time));
        for (std::size_t e = 0; e < req.nodes[i].errors.size(); ++e)
            f.errors.metric.push_back(counter({{"kind", to_string(static_cast<upstream_error>(e))}, {"node", n.name}},
                                              double(req.nodes[i].errors[e])));
        f.retries.metric.push_back(counter({{"node", n.name}}, double(req.nodes[i].retries)));
        f.opened.metric.push_back(counter({{"node", n.name}}, double(req.nodes[i].connections_opened)));
    }
    f.up.metric.push_back(gauge({{"node", n.name}}, n.up ? 1 : 0));
    for (const char* st : node_states)
        f.state.metric.push_back(gauge({{"node", n.name}, {"state", st}}, n.state == st ? 1 : 0));
    for (std::size_t r = 0; r < 3; ++r)
        f.checks.metric.push_back(counter({{"node", n.name}, {"result", check_results[r]}}, double(n.checks[r])));
    f.check_duration.metric.push_back(histogram_metric({{"node", n.name}}, n.check_duration));
    f.upstream_connections.metric.push_back(gauge({{"node", n.name}, {"state", "active"}}, double(n.in_flight)));
    f.upstream_connections.metric.push_back(gauge({{"node", n.name}, {"state", "idle"}}, double(n.idle_connections)));
    f.websockets.metric.push_back(gauge({{"node", n.name}}, double(n.websockets)));
}

void add_node_families(std::vector<MetricFamily>& out, const scrape& s) {
    node_families f;
    for (std::size_t i = 0; i < s.nodes.size(); ++i) add_node(f, s, i);
    for (auto* family : {&f.upstream_duration, &f.errors, &f.retries, &f.up, &f.state, &f.checks, &f.check_duration,
                         &f.upstream_connections, &f.opened, &f.websockets})
        out.push_back(std::move(*family));
}

/// Idle node connections closed, by reason.
void add_idle_close_family(std::vector<MetricFamily>& out, const scrape& s) {
    std::vector<ClientMetric> closed;
    for (std::size_t r = 0; r < s.requests.idle_closed.size(); ++r)
        closed.push_back(
            counter({{"reason", to_string(static_cast<idle_close>(r))}}, double(s.requests.idle_closed[r])));
    add_family(out, "gatehouse_upstream_idle_closed_total",
               "Idle pooled node connections closed, by reason: timeout (timeouts.upstream_idle), surplus (more than "
               "recent demand or upstream.keepalive), unusable (closed by the node or stray bytes, seen before reuse).",
               MetricType::Counter, std::move(closed));
}

/// Client connections and bytes.
void add_client_families(std::vector<MetricFamily>& out, const scrape& s) {
    add_family(out, "gatehouse_downstream_connections",
               "Client connections: active (a request in progress) or idle (keep-alive).", MetricType::Gauge,
               {gauge({{"state", "active"}}, double(s.connections_active)),
                gauge({{"state", "idle"}}, double(s.connections_idle))});
    add_family(out, "gatehouse_received_bytes_total", "Bytes received from clients (heads and bodies).",
               MetricType::Counter, {counter({}, double(s.requests.received_bytes))});
    add_family(out, "gatehouse_sent_bytes_total", "Bytes sent to clients (heads and bodies).", MetricType::Counter,
               {counter({}, double(s.requests.sent_bytes))});
    add_family(out, "gatehouse_client_connections_refused_total",
               "Client connections closed at once because their address had limits.max_connections_per_client.",
               MetricType::Counter, {counter({{"reason", "per_client_limit"}}, double(s.requests.refused_per_client))});
}

/// TLS handshakes done (and resumed) and failed by reason.
void add_tls_families(std::vector<MetricFamily>& out, const scrape& s) {
    add_family(out, "gatehouse_tls_handshakes_total", "TLS handshakes completed, by whether a session was resumed.",
               MetricType::Counter,
               {counter({{"resumed", "false"}}, double(s.requests.tls_handshakes - s.requests.tls_resumed)),
                counter({{"resumed", "true"}}, double(s.requests.tls_resumed))});
    std::vector<ClientMetric> failures;
    for (std::size_t r = 0; r < s.requests.tls_handshake_failures.size(); ++r)
        failures.push_back(counter({{"reason", to_string(static_cast<tls_failure>(r))}},
                                   double(s.requests.tls_handshake_failures[r])));
    add_family(out, "gatehouse_tls_handshake_failures_total",
               "TLS handshakes that failed, by reason: timeout (timeouts.client_header), plain_http, protocol "
               "(no common version or cipher), closed, other.",
               MetricType::Counter, std::move(failures));
}

/// WebSocket upgrades by result and tunnelled bytes by direction.
void add_websocket_families(std::vector<MetricFamily>& out, const scrape& s) {
    std::vector<ClientMetric> upgrades;
    for (std::size_t r = 0; r < s.requests.websocket_upgrades.size(); ++r)
        upgrades.push_back(counter({{"result", to_string(static_cast<websocket_result>(r))}},
                                   double(s.requests.websocket_upgrades[r])));
    add_family(out, "gatehouse_websocket_upgrades_total",
               "WebSocket upgrade requests by result: upgraded (tunnel opened), declined (the node did not switch), "
               "unavailable (gatehouse's 503), failed (502/504).",
               MetricType::Counter, std::move(upgrades));
    std::vector<ClientMetric> bytes;
    for (std::size_t d = 0; d < s.requests.websocket_bytes.size(); ++d)
        bytes.push_back(counter({{"direction", to_string(static_cast<tunnel_direction>(d))}},
                                double(s.requests.websocket_bytes[d])));
    add_family(out, "gatehouse_websocket_bytes_total", "Bytes relayed through WebSocket tunnels, by direction.",
               MetricType::Counter, std::move(bytes));
}

/// Answers gzipped on the way, and their bytes before and after.
void add_compression_families(std::vector<MetricFamily>& out, const scrape& s) {
    add_family(out, "gatehouse_compressed_responses_total", "Answers gzipped on their way to the client.",
               MetricType::Counter, {counter({}, double(s.requests.compressed_responses))});
    add_family(out, "gatehouse_compression_bytes_total",
               "Body bytes of gzipped answers: in (from the node) and out (gzip, to the client).", MetricType::Counter,
               {counter({{"direction", "in"}}, double(s.requests.compression_in_bytes)),
                counter({{"direction", "out"}}, double(s.requests.compression_out_bytes))});
}

/// The control plane: maintenance, reloads, the build.
void add_control_families(std::vector<MetricFamily>& out, const scrape& s) {
    add_family(out, "gatehouse_maintenance_enabled", "1 while maintenance mode is on.", MetricType::Gauge,
               {gauge({}, s.maintenance ? 1 : 0)});
    add_family(out, "gatehouse_config_reloads_total", "Configuration reloads by result.", MetricType::Counter,
               {counter({{"result", "success"}}, double(s.reloads_ok)),
                counter({{"result", "failure"}}, double(s.reloads_failed))});
    add_family(out, "gatehouse_log_lines_dropped_total",
               "Access log lines dropped because the destination did not take them in time.", MetricType::Counter,
               {counter({}, double(s.log_lines_dropped))});
    add_family(out, "gatehouse_config_last_reload_success_timestamp_seconds",
               "When the configuration was last loaded successfully (start or reload).", MetricType::Gauge,
               {gauge({}, s.last_reload_success_unix > 0 ? s.last_reload_success_unix : s.start_time_unix)});
    add_family(out, "gatehouse_build_info", "A constant 1 labelled with gatehouse's version.", MetricType::Gauge,
               {gauge({{"version", s.version}}, 1)});
}

/// [cluster]: the link to Redis (no family without [cluster]).
void add_cluster_families(std::vector<MetricFamily>& out, const cluster_sample& c) {
    if (!c.enabled) return;
    add_family(out, "gatehouse_cluster_redis_up",
               "1 while the link to [cluster]'s Redis is up; 0 while gatehouse serves with its last known state.",
               MetricType::Gauge, {gauge({}, c.redis_up ? 1 : 0)});
    add_family(out, "gatehouse_cluster_redis_failures_total",
               "Connection attempts to Redis that failed, and connections lost.", MetricType::Counter,
               {counter({}, double(c.failures))});
    add_family(out, "gatehouse_cluster_state_updates_total",
               "Operator states written by other replicas and applied here.", MetricType::Counter,
               {counter({}, double(c.updates_received))});
}

/// Names looked up while running (no family without any).
void add_dns_families(std::vector<MetricFamily>& out, const std::vector<dns_sample>& names) {
    if (names.empty()) return;
    std::vector<ClientMetric> lookups, nodes;
    for (const auto& n : names) {
        lookups.push_back(counter({{"name", n.name}, {"result", "success"}}, double(n.lookups_ok)));
        lookups.push_back(counter({{"name", n.name}, {"result", "failure"}}, double(n.lookups_failed)));
        if (n.discovers_nodes) nodes.push_back(gauge({{"name", n.name}}, double(n.nodes)));
    }
    add_family(out, "gatehouse_dns_lookups_total",
               "Lookups of [[upstream.dns]] names and static nodes' host names by result (a failure keeps the last "
               "good answer).", MetricType::Counter, std::move(lookups));
    if (!nodes.empty())
        add_family(out, "gatehouse_dns_nodes", "Nodes each [[upstream.dns]] name gives now.", MetricType::Gauge,
                   std::move(nodes));
}

}  // namespace

std::string render(const scrape& s) {
    std::vector<MetricFamily> out;
    add_request_families(out, s);
    add_node_families(out, s);
    add_idle_close_family(out, s);
    add_client_families(out, s);
    add_websocket_families(out, s);
    add_compression_families(out, s);
    add_tls_families(out, s);
    add_control_families(out, s);
    add_cluster_families(out, s.cluster);
    add_dns_families(out, s.dns);
    add_process_metrics(out, s.start_time_unix);
    return prometheus::TextSerializer().Serialize(out);
}

}  // namespace gatehouse::metrics
