// Turning one scrape's numbers into Prometheus text (prometheus-cpp's MetricFamily + TextSerializer).
#pragma once

#include <gatehouse/metrics/counters.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse::metrics {

/// One node as the scrape sees it.
struct node_sample {
    std::string name;
    bool up = false;                           ///< takes traffic now
    std::string state;                         ///< up, down, starting, unknown, ejected, draining, disabled
    std::array<std::uint64_t, 3> checks{};     ///< active checks by result: pass, starting, fail
    histogram check_duration;
    std::uint64_t in_flight = 0;               ///< = active upstream connections
    std::uint64_t idle_connections = 0;        ///< pooled, summed over workers
    std::uint64_t websockets = 0;              ///< open WebSocket tunnels, summed over workers
};

/// One name looked up while running ([[upstream.dns]] or a static node's host).
struct dns_sample {
    std::string name;
    bool discovers_nodes = false;   ///< an [[upstream.dns]] name: gatehouse_dns_nodes has a sample for it
    std::uint64_t lookups_ok = 0;
    std::uint64_t lookups_failed = 0;
    std::uint64_t nodes = 0;        ///< nodes it gives now
};

/// Everything one scrape shows; workers' counters already summed (`requests.nodes` aligned with `nodes`).
/// [cluster]'s link to Redis.
struct cluster_sample {
    bool enabled = false;  ///< false: no cluster families
    bool redis_up = false;
    std::uint64_t failures = 0;
    std::uint64_t updates_received = 0;
};

struct scrape {
    std::vector<node_sample> nodes;
    worker_counters requests;
    std::uint64_t connections_active = 0;
    std::uint64_t connections_idle = 0;
    bool maintenance = false;
    std::uint64_t reloads_ok = 0;
    std::uint64_t reloads_failed = 0;
    std::uint64_t log_lines_dropped = 0;      ///< access lines the destination did not take in time
    double last_reload_success_unix = 0;       ///< 0 = never (the start counts as the first load)
    double start_time_unix = 0;
    std::string version;
    cluster_sample cluster;
    std::vector<dns_sample> dns;
};

/// Node states every node gets a gatehouse_node_state sample for (one of them 1).
inline constexpr std::array<const char*, 7> node_states{"up",     "down",     "starting", "unknown",
                                                        "ejected", "draining", "disabled"};

/// The Prometheus text exposition (format 0.0.4) of `s`, with the standard process_* metrics of this process.
std::string render(const scrape& s);

}  // namespace gatehouse::metrics
