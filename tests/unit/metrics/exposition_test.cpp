// The Prometheus text of one scrape: each family's samples, labels and values, cumulative histogram buckets, the
// fallbacks (last reload = start), label escaping, and the process_* metrics.
#include <gatehouse/metrics/exposition.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

/// True when `text` holds `line` as a whole line.
bool has_line(const std::string& text, const std::string& line) {
    return text.rfind(line + "\n", 0) == 0 || text.find("\n" + line + "\n") != std::string::npos;
}

/// The number of lines of `text` that start with `prefix`.
std::size_t lines_starting(const std::string& text, const std::string& prefix) {
    std::size_t n = text.rfind(prefix, 0) == 0 ? 1 : 0;
    for (auto at = text.find("\n" + prefix); at != std::string::npos; at = text.find("\n" + prefix, at + 1)) ++n;
    return n;
}

/// Two nodes with some traffic; node "b" is down.
metrics::scrape two_nodes() {
    metrics::scrape s;
    metrics::node_sample a;
    a.name = std::string("a");
    a.up = true;
    a.state = std::string("up");
    a.checks = {7, 1, 2};
    a.in_flight = 3;
    a.idle_connections = 4;
    metrics::node_sample b;
    b.name = std::string("b");
    b.state = std::string("down");
    s.nodes = {a, b};
    s.requests.nodes.resize(2);
    s.requests.nodes[0].responses = {0, 12, 0, 2, 1};
    s.requests.nodes[0].errors = {5, 6, 7, 8};
    s.requests.nodes[0].retries = 9;
    s.version = "1.2.3";
    s.start_time_unix = 1764190800;
    return s;
}

}  // namespace

// Requests by node and status class: 2xx always (so every node has a series), other classes once non-zero;
// gatehouse's own answers under node="none" with their reason.
TEST(Exposition, RequestsByNodeClassAndReason) {
    auto s = two_nodes();
    s.requests.own[static_cast<std::size_t>(metrics::own_reason::no_node)][4] = 3;
    s.requests.own[static_cast<std::size_t>(metrics::own_reason::bad_request)][3] = 1;
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_http_requests_total counter")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="2xx",node="a"} 12)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="4xx",node="a"} 2)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="5xx",node="a"} 1)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="2xx",node="b"} 0)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="5xx",node="none",reason="no_node"} 3)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_http_requests_total{code="4xx",node="none",reason="bad_request"} 1)"));
    EXPECT_EQ(lines_starting(text, "gatehouse_http_requests_total{"), 6u) << "zero classes are left out:\n" << text;
}

// Histogram buckets are cumulative, end with +Inf, and come with _sum and _count.
TEST(Exposition, HistogramBucketsAreCumulative) {
    metrics::scrape s;
    // Binary fractions, so the sum prints exactly: one in the first bucket, one in 0.005, one above 60 s.
    s.requests.request_duration.observe(0.0009765625);
    s.requests.request_duration.observe(0.00390625);
    s.requests.request_duration.observe(64);
    const auto text = metrics::render(s);
    const std::string name = "gatehouse_http_request_duration_seconds";
    EXPECT_TRUE(has_line(text, "# TYPE " + name + " histogram")) << text;
    EXPECT_TRUE(has_line(text, name + R"(_bucket{le="0.001"} 1)")) << text;
    EXPECT_TRUE(has_line(text, name + R"(_bucket{le="0.0025"} 1)"));
    EXPECT_TRUE(has_line(text, name + R"(_bucket{le="0.005"} 2)"));
    EXPECT_TRUE(has_line(text, name + R"(_bucket{le="60"} 2)"));
    EXPECT_TRUE(has_line(text, name + R"(_bucket{le="+Inf"} 3)"));
    EXPECT_TRUE(has_line(text, name + "_count 3"));
    EXPECT_TRUE(has_line(text, name + "_sum 64.0048828125"));
    EXPECT_EQ(lines_starting(text, name + "_bucket{"), metrics::duration_bounds.size() + 1);
}

// Per node: up, one state sample per known state (1 for the current one), checks by result, error kinds,
// retries, and upstream connections active/idle.
TEST(Exposition, NodeFamilies) {
    const auto text = metrics::render(two_nodes());
    EXPECT_TRUE(has_line(text, R"(gatehouse_node_up{node="a"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_node_up{node="b"} 0)"));
    for (const char* state : metrics::node_states) {
        const std::string st = state;
        EXPECT_TRUE(has_line(text, R"(gatehouse_node_state{node="a",state=")" + st + "\"} " + (st == "up" ? "1" : "0")))
            << st;
        EXPECT_TRUE(has_line(text, R"(gatehouse_node_state{node="b",state=")" + st + "\"} " + (st == "down" ? "1" : "0")))
            << st;
    }
    EXPECT_EQ(lines_starting(text, "gatehouse_node_state{"), 2 * metrics::node_states.size());
    EXPECT_TRUE(has_line(text, R"(gatehouse_health_checks_total{node="a",result="pass"} 7)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_health_checks_total{node="a",result="starting"} 1)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_health_checks_total{node="a",result="fail"} 2)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_errors_total{kind="connect",node="a"} 5)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_errors_total{kind="reset",node="a"} 6)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_errors_total{kind="timeout",node="a"} 7)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_errors_total{kind="protocol",node="a"} 8)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_errors_total{kind="connect",node="b"} 0)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_retries_total{node="a"} 9)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_connections{node="a",state="active"} 3)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_connections{node="a",state="idle"} 4)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_connections_opened_total{node="b"} 0)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_response_duration_seconds_count{node="b"} 0)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_health_check_duration_seconds_bucket{node="a",le="+Inf"} 0)"));
}

// A node the workers' counters do not cover yet (counters shorter than the node list) still gets its gauges, and
// no request series is made up for it.
TEST(Exposition, NodeWithoutCountersHasGaugesOnly) {
    auto s = two_nodes();
    s.requests.nodes.resize(1);
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, R"(gatehouse_node_up{node="b"} 0)")) << text;
    EXPECT_EQ(text.find(R"(gatehouse_http_requests_total{code="2xx",node="b"})"), std::string::npos);
    EXPECT_EQ(text.find(R"(gatehouse_retries_total{node="b"})"), std::string::npos);
    EXPECT_EQ(text.find(R"(gatehouse_upstream_errors_total{kind="connect",node="b"})"), std::string::npos);
}

// The process-wide families: client connections, bytes, refusals, maintenance, reloads and build info.
TEST(Exposition, ProcessWideFamilies) {
    auto s = two_nodes();
    s.connections_active = 11;
    s.connections_idle = 22;
    s.requests.received_bytes = 1000;
    s.requests.sent_bytes = 2000;
    s.requests.refused_per_client = 4;
    s.requests.nodes[0].connections_opened = 12;
    s.requests.idle_closed = {3, 2, 1};
    s.maintenance = true;
    s.reloads_ok = 5;
    s.reloads_failed = 1;
    s.last_reload_success_unix = 1764190900;
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, R"(gatehouse_downstream_connections{state="active"} 11)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_downstream_connections{state="idle"} 22)"));
    EXPECT_TRUE(has_line(text, "gatehouse_received_bytes_total 1000"));
    EXPECT_TRUE(has_line(text, "gatehouse_sent_bytes_total 2000"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_client_connections_refused_total{reason="per_client_limit"} 4)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_connections_opened_total{node="a"} 12)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_idle_closed_total{reason="timeout"} 3)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_idle_closed_total{reason="surplus"} 2)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_upstream_idle_closed_total{reason="unusable"} 1)"));
    EXPECT_TRUE(has_line(text, "gatehouse_maintenance_enabled 1"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_config_reloads_total{result="success"} 5)"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_config_reloads_total{result="failure"} 1)"));
    EXPECT_TRUE(has_line(text, "gatehouse_config_last_reload_success_timestamp_seconds 1764190900"));
    EXPECT_TRUE(has_line(text, R"(gatehouse_build_info{version="1.2.3"} 1)"));
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_build_info gauge"));
}

// Before any reload the last successful load is the start.
TEST(Exposition, LastReloadIsTheStartUntilAReload) {
    const auto text = metrics::render(two_nodes());
    EXPECT_TRUE(has_line(text, "gatehouse_config_last_reload_success_timestamp_seconds 1764190800")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_maintenance_enabled 0"));
}

// Label values are escaped (quote, backslash, newline), so a strange name or version cannot break the text.
TEST(Exposition, LabelValuesAreEscaped) {
    auto s = two_nodes();
    s.nodes[1].name = "x\"y\\z\nw";
    s.version = "1.0 \"beta\"";
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, R"(gatehouse_node_up{node="x\"y\\z\nw"} 0)")) << text;
    EXPECT_TRUE(has_line(text, R"(gatehouse_build_info{version="1.0 \"beta\""} 1)"));
}

// The standard process_* metrics of this process: start time as given, at least one open descriptor, a limit.
TEST(Exposition, ProcessMetrics) {
    const auto text = metrics::render(two_nodes());
    EXPECT_TRUE(has_line(text, "process_start_time_seconds 1764190800")) << text;
    EXPECT_TRUE(has_line(text, "# TYPE process_cpu_seconds_total counter"));
    for (const char* name : {"process_resident_memory_bytes ", "process_virtual_memory_bytes ", "process_open_fds ",
                             "process_max_fds "}) {
        const auto at = text.find(std::string("\n") + name);
        ASSERT_NE(at, std::string::npos) << name;
        EXPECT_GT(std::stod(text.substr(at + 1 + std::string(name).size())), 0) << name;
    }
}
