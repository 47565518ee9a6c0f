// Prometheus metrics from a real scrape (counts by node, class and reason; node states; errors and retries;
// promtool's lint) and the access log (combined and JSON lines, maintenance and bypass marks, reopen on SIGUSR1).
#include "admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace gatehouse::test {
namespace {

namespace json = boost::json;

class Observability : public GatehouseTest {};

std::string scrape(const gatehouse_process& gh) {
    const auto r = admin_call(gh, "GET", "/metrics", "", "");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
}

/// The value of the sample `name{labels}` exactly as written (labels sorted as gatehouse writes them); -1 if absent.
double sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
            return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
    return -1;
}

/// Scrapes until `series` reaches `value` (a worker records a request just after its last byte went out, so a
/// scrape right after the client got its answer may miss it), at most 2 s; the last scrape.
std::string scrape_when(const gatehouse_process& gh, const std::string& series, double value) {
    std::string text;
    wait_until([&] { return sample(text = scrape(gh), series) >= value; }, 2s, 20ms);
    return text;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

// Requests are counted by node and status class; gatehouse's own answers by reason; the scrape needs no token.
TEST_F(Observability, MetricsCountRequestsByNodeClassAndReason) {
    add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o;
    o.workers = 2;  // counts of both workers are summed
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(get(gh.port(), "/").status, 200u);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(get(gh.port(), "/status/404").status, 404u);
    ASSERT_EQ(raw_exchange(gh.port(), "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status(), 400u);
    ASSERT_EQ(admin_call(gh, "PUT", "/api/maintenance", R"({"reason": "x"})").status, 200u);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gh.port(), "/").status, 503u);

    const auto text = scrape_when(gh, "gatehouse_http_request_duration_seconds_count", 28);
    const double ok1 = sample(text, "gatehouse_http_requests_total{code=\"2xx\",node=\"node1\"}");
    const double ok2 = sample(text, "gatehouse_http_requests_total{code=\"2xx\",node=\"node2\"}");
    EXPECT_EQ(ok1 + ok2, 20) << text;
    EXPECT_GT(ok1, 0);
    EXPECT_GT(ok2, 0);
    const double nf1 = sample(text, "gatehouse_http_requests_total{code=\"4xx\",node=\"node1\"}");
    const double nf2 = sample(text, "gatehouse_http_requests_total{code=\"4xx\",node=\"node2\"}");
    EXPECT_EQ(std::max(nf1, 0.0) + std::max(nf2, 0.0), 4) << text;
    EXPECT_EQ(sample(text, "gatehouse_http_requests_total{code=\"4xx\",node=\"none\",reason=\"bad_request\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_http_requests_total{code=\"5xx\",node=\"none\",reason=\"maintenance\"}"), 3) << text;
    EXPECT_EQ(sample(text, "gatehouse_http_request_duration_seconds_count"), 28) << text;
    EXPECT_EQ(sample(text, "gatehouse_upstream_response_duration_seconds_count{node=\"node1\"}") +
                  sample(text, "gatehouse_upstream_response_duration_seconds_count{node=\"node2\"}"),
              24);
    EXPECT_EQ(sample(text, "gatehouse_maintenance_enabled"), 1);
    EXPECT_EQ(sample(text, "gatehouse_node_up{node=\"node1\"}"), 1);
    EXPECT_EQ(sample(text, "gatehouse_node_state{node=\"node1\",state=\"up\"}"), 1);
    EXPECT_EQ(sample(text, "gatehouse_node_state{node=\"node1\",state=\"down\"}"), 0);
    EXPECT_GT(sample(text, "gatehouse_received_bytes_total"), 0);
    EXPECT_GT(sample(text, "gatehouse_sent_bytes_total"), 0);
    EXPECT_EQ(sample(text, "gatehouse_build_info{version=\"0.1.0\"}"), 1) << text;
    EXPECT_GT(sample(text, "process_resident_memory_bytes"), 0);
    EXPECT_GT(sample(text, "process_open_fds"), 0);
    EXPECT_GT(sample(text, "process_start_time_seconds"), 1.7e9);
    // Histogram buckets from 1 ms to 60 s.
    EXPECT_GE(sample(text, "gatehouse_http_request_duration_seconds_bucket{le=\"0.001\"}"), 0) << text;
    EXPECT_EQ(sample(text, "gatehouse_http_request_duration_seconds_bucket{le=\"60\"}"), 28) << text;
    EXPECT_EQ(sample(text, "gatehouse_http_request_duration_seconds_bucket{le=\"+Inf\"}"), 28) << text;

    // The status API shows the same counts per node.
    json::error_code ec;
    const auto status = json::parse(admin_call(gh, "GET", "/api/status").body, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(status.at("nodes").as_array()[0].at("requests_total").as_int64() +
                  status.at("nodes").as_array()[1].at("requests_total").as_int64(),
              24);
}

// A known sequence (6 successes of which one retried after a refused connection, a maintenance 503, a 502, failing
// health checks) gives exactly those counts, and exactly those access log lines in that order.
TEST_F(Observability, KnownSequenceGivesExactCountsAndAccessLines) {
    add_upstream("node1");
    auto& n2 = add_upstream("node2");
    auto& n3 = add_upstream("node3");
    const std::string log_file = scratch_dir() + "/access.log";
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    // No pooled connections: a stopped node is found by a refused connect (a stale pooled connection would be
    // re-sent on a fresh pick, without an error to count).
    o.upstream = {{"tries", "2"}, {"keepalive", "0"}};
    // The first round of checks runs before gatehouse accepts; the next one comes 3 s later, after the requests.
    o.health_check = {{"interval", "\"3s\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}, {"fall", "1"},
                      {"max_fails", "0"}};
    auto& first = start_gatehouse(o);
    const auto text = first.config_text() + "\n[log]\naccess = \"" + log_file + "\"\n";
    first.signal(SIGTERM);
    ASSERT_EQ(first.wait_exit(10s), 0);
    gatehouse_process gh(text, first.port(), first.admin_port());

    for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gh.port(), "/").status, 200u);           // node1, node2, node3
    n3.stop();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gh.port(), "/").status, 200u);           // one of them retried
    ASSERT_EQ(admin_call(gh, "PUT", "/api/maintenance", R"({"reason": "x"})").status, 200u);
    ASSERT_EQ(get(gh.port(), "/").status, 503u);                                        // maintenance
    ASSERT_EQ(admin_call(gh, "DELETE", "/api/maintenance").status, 200u);
    n2.stop();
    ASSERT_EQ(admin_call(gh, "POST", "/api/pin", R"({"node": "node2"})").status, 200u);
    ASSERT_EQ(get(gh.port(), "/").status, 502u);                                        // node2 refuses, no other
    ASSERT_EQ(admin_call(gh, "DELETE", "/api/pin").status, 200u);
    ASSERT_TRUE(gh.wait_for_log("node2 down", 5s)) << gh.log();
    ASSERT_TRUE(gh.wait_for_log("node3 down", 5s)) << gh.log();

    const auto m = scrape_when(gh, "gatehouse_http_request_duration_seconds_count", 8);
    const auto value = [&](const std::string& series) { return std::max(0.0, sample(m, series)); };
    EXPECT_EQ(value("gatehouse_http_requests_total{code=\"2xx\",node=\"node1\"}") +
                  value("gatehouse_http_requests_total{code=\"2xx\",node=\"node2\"}") +
                  value("gatehouse_http_requests_total{code=\"2xx\",node=\"node3\"}"),
              6)
        << m;
    EXPECT_EQ(value("gatehouse_http_requests_total{code=\"2xx\",node=\"node3\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_http_requests_total{code=\"5xx\",node=\"none\",reason=\"maintenance\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_http_requests_total{code=\"5xx\",node=\"none\",reason=\"bad_gateway\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_upstream_errors_total{kind=\"connect\",node=\"node3\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_upstream_errors_total{kind=\"connect\",node=\"node2\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_upstream_errors_total{kind=\"connect\",node=\"node1\"}"), 0) << m;
    EXPECT_EQ(value("gatehouse_retries_total{node=\"node3\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_retries_total{node=\"node2\"}"), 0) << m << "(the 502 was not retried: no other node)";
    EXPECT_EQ(value("gatehouse_http_request_duration_seconds_count"), 8) << m;
    EXPECT_GE(value("gatehouse_health_checks_total{node=\"node2\",result=\"fail\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_health_checks_total{node=\"node2\",result=\"pass\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_node_up{node=\"node2\"}"), 0) << m;
    EXPECT_EQ(value("gatehouse_node_state{node=\"node3\",state=\"down\"}"), 1) << m;
    EXPECT_EQ(value("gatehouse_node_up{node=\"node1\"}"), 1) << m;

    ASSERT_TRUE(wait_until([&] { return lines_of(read_text(log_file)).size() >= 8; }, 2s)) << read_text(log_file);
    const auto lines = lines_of(read_text(log_file));
    ASSERT_EQ(lines.size(), 8u) << read_text(log_file);
    const std::vector<std::string> statuses{"200", "200", "200", "200", "200", "200", "503", "502"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_NE(lines[i].find("\"GET / HTTP/1.1\""), std::string::npos) << lines[i];
        EXPECT_NE(lines[i].find("\" " + statuses[i] + " "), std::string::npos) << i << ": " << lines[i];
    }
    EXPECT_NE(lines[2].find(" node=node3 upstream_status=200 "), std::string::npos) << lines[2];
    std::size_t retried_to_others = 0;
    for (std::size_t i = 3; i < 6; ++i) {
        EXPECT_EQ(lines[i].find("node=node3"), std::string::npos) << lines[i];
        if (lines[i].find(" upstream_status=200 ") != std::string::npos) ++retried_to_others;
    }
    EXPECT_EQ(retried_to_others, 3u);
    EXPECT_NE(lines[6].find(" node=- upstream_status=- upstream_time=- "), std::string::npos) << lines[6];
    EXPECT_NE(lines[6].find(" maintenance=1 "), std::string::npos) << lines[6];
    EXPECT_NE(lines[7].find(" node=node2 upstream_status=- upstream_time=- "), std::string::npos) << lines[7];
}

// Node states, drains, health checks, connect errors, retries and reloads show in the metrics.
TEST_F(Observability, MetricsShowNodeStatesErrorsRetriesAndReloads) {
    add_upstream("node1");
    auto& n2 = add_upstream("node2");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    o.health_check = {{"interval", "\"5s\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    n2.stop();  // the checks still think it is up (next check in 5 s): requests find it refusing and retry
    for (int i = 0; i < 6; ++i) ASSERT_EQ(get(gh.port(), "/").status, 200u);
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node1/drain").status, 200u);
    ASSERT_EQ(admin_call(gh, "POST", "/api/reload").status, 200u);

    const auto text = scrape(gh);
    EXPECT_GE(sample(text, "gatehouse_upstream_errors_total{kind=\"connect\",node=\"node2\"}"), 1) << text;
    EXPECT_GE(sample(text, "gatehouse_retries_total{node=\"node2\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_upstream_errors_total{kind=\"connect\",node=\"node1\"}"), 0) << text;
    EXPECT_EQ(sample(text, "gatehouse_node_state{node=\"node1\",state=\"draining\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_node_up{node=\"node1\"}"), 0) << text;
    EXPECT_EQ(sample(text, "gatehouse_health_checks_total{node=\"node1\",result=\"pass\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_health_check_duration_seconds_count{node=\"node1\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_config_reloads_total{result=\"success\"}"), 1) << text;
    EXPECT_EQ(sample(text, "gatehouse_config_reloads_total{result=\"failure\"}"), 0) << text;
    EXPECT_GT(sample(text, "gatehouse_config_last_reload_success_timestamp_seconds"), 1.7e9) << text;
}

// A real scrape passes `promtool check metrics` (Debian's prometheus package, installed by deploy/setup.sh).
TEST_F(Observability, ScrapePassesPromtool) {
    add_upstream("node1");
    auto& gh = start_gatehouse();
    for (int i = 0; i < 3; ++i) (void)get(gh.port(), "/");
    const std::string file = scratch_dir() + "/scrape.txt";
    std::ofstream(file) << scrape(gh);
    ASSERT_TRUE(std::filesystem::exists("/usr/bin/promtool")) << "promtool missing: apt-get install prometheus";
    const std::string command = "/usr/bin/promtool check metrics < " + file + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, p)) output += buffer;
    const int status = ::pclose(p);
    EXPECT_EQ(status, 0) << output;
    EXPECT_TRUE(output.empty()) << output;
}

// [metrics] on its own listener (only /metrics there), require_token, and enabled = false.
TEST_F(Observability, MetricsListenerTokenAndOff) {
    add_upstream("node1");
    const auto metrics_port = reserve_port();
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    auto text = gh.config_text() + "\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port) +
                "\"\nrequire_token = true\n";
    gh.signal(SIGTERM);
    ASSERT_EQ(gh.wait_exit(10s), 0);
    gatehouse_process own(text, gh.port(), gh.admin_port());
    client_connection c(metrics_port);
    c.send("GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 401u);
    c.send("GET /metrics HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer " + std::string(admin_token) + "\r\n\r\n");
    const auto ok = c.read_response();
    EXPECT_EQ(ok.status, 200u);
    EXPECT_NE(ok.body.find("gatehouse_build_info"), std::string::npos);
    c.send("GET /api/status HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer " + std::string(admin_token) + "\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 404u) << "the metrics listener must not serve the admin API";
    own.signal(SIGTERM);
    ASSERT_EQ(own.wait_exit(10s), 0);

    gatehouse_process off(gh.config_text() + "\n[metrics]\nenabled = false\n", gh.port(), gh.admin_port());
    EXPECT_EQ(admin_call(off, "GET", "/metrics", "", "").status, 401u) << "with metrics off, /metrics is an admin path";
    EXPECT_EQ(admin_call(off, "GET", "/metrics").status, 404u);
}

// The access log: one combined line per request with gatehouse's fields, maintenance and bypass marked; JSON lines
// on request; SIGUSR1 reopens the file after logrotate moved it.
TEST_F(Observability, AccessLogCombinedMarksMaintenanceAndBypassAndReopens) {
    add_upstream("node1");
    const std::string log_file = scratch_dir() + "/access.log";
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    o.maintenance = {{"bypass_cookie", "\"op=0123456789abcdef0123456789abcdef\""}};
    auto& gh = start_gatehouse(o);
    auto text = gh.config_text() + "\n[log]\naccess = \"" + log_file + "\"\n";
    gh.signal(SIGTERM);
    ASSERT_EQ(gh.wait_exit(10s), 0);
    gatehouse_process g(text, gh.port(), gh.admin_port());

    ASSERT_EQ(get(g.port(), "/page?q=1", "Referer: http://example/\r\nUser-Agent: tester \"1\"\r\n").status, 200u);
    ASSERT_EQ(admin_call(g, "PUT", "/api/maintenance", R"({"reason": "x"})").status, 200u);
    ASSERT_EQ(get(g.port(), "/down").status, 503u);
    ASSERT_EQ(get(g.port(), "/bypassed", "Cookie: op=0123456789abcdef0123456789abcdef\r\n").status, 200u);
    ASSERT_TRUE(wait_until([&] { return lines_of(read_text(log_file)).size() >= 3; }, 2s)) << read_text(log_file);
    const auto lines = lines_of(read_text(log_file));
    ASSERT_EQ(lines.size(), 3u);
    const std::regex combined(
        R"re(^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /page\?q=1 HTTP/1\.1" 200 \d+ "http://example/" "tester \\x221\\x22" node=node1 upstream_status=200 upstream_time=\d+\.\d{3} request_time=\d+\.\d{3} request_id=[0-9a-f]{32} maintenance=0 bypass=0 peer=127\.0\.0\.1$)re");
    EXPECT_TRUE(std::regex_match(lines[0], combined)) << lines[0];
    EXPECT_NE(lines[1].find("\"GET /down HTTP/1.1\" 503 "), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find(" node=- upstream_status=- upstream_time=- "), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find(" maintenance=1 bypass=0"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find(" maintenance=0 bypass=1"), std::string::npos) << lines[2];

    // logrotate: move the file, SIGUSR1, new lines go to a new file at the old path.
    std::filesystem::rename(log_file, log_file + ".1");
    g.signal(SIGUSR1);
    ASSERT_TRUE(g.wait_for_log("access log reopened", 2s)) << g.log();
    ASSERT_EQ(get(g.port(), "/after", "Cookie: op=0123456789abcdef0123456789abcdef\r\n").status, 200u);
    ASSERT_TRUE(wait_until([&] { return !read_text(log_file).empty(); }, 2s));
    EXPECT_NE(read_text(log_file).find("GET /after"), std::string::npos);
    EXPECT_EQ(lines_of(read_text(log_file + ".1")).size(), 3u);
}

TEST_F(Observability, AccessLogJsonLines) {
    add_upstream("node1");
    const std::string log_file = scratch_dir() + "/access.json";
    gatehouse_options o;
    auto& gh = start_gatehouse(o);
    auto text = gh.config_text() + "\n[log]\naccess = \"" + log_file + "\"\naccess_format = \"json\"\n";
    gh.signal(SIGTERM);
    ASSERT_EQ(gh.wait_exit(10s), 0);
    gatehouse_process g(text, gh.port(), gh.admin_port());
    ASSERT_EQ(get(g.port(), "/x\"y", "User-Agent: a\"b\r\n").status, 200u);
    ASSERT_TRUE(wait_until([&] { return !read_text(log_file).empty(); }, 2s));
    json::error_code ec;
    const auto v = json::parse(lines_of(read_text(log_file)).at(0), ec);
    ASSERT_FALSE(ec) << read_text(log_file);
    EXPECT_EQ(v.at("status").as_int64(), 200);
    EXPECT_EQ(v.at("uri").as_string(), "/x\"y");
    EXPECT_EQ(v.at("http_user_agent").as_string(), "a\"b");
    EXPECT_EQ(v.at("node").as_string(), "node1");
    EXPECT_EQ(v.at("upstream_status").as_int64(), 200);
    EXPECT_EQ(v.at("maintenance").as_bool(), false);
    EXPECT_EQ(v.at("request_id").as_string().size(), 32u);
    EXPECT_EQ(v.at("remote_addr").as_string(), "127.0.0.1");
    EXPECT_EQ(v.at("peer_addr").as_string(), "127.0.0.1");
}

}  // namespace
}  // namespace gatehouse::test
