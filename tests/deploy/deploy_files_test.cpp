// The deploy/ files: Prometheus scrape config and alert rules (promtool check + promtool's rule unit tests), the
// Grafana dashboard (valid JSON, valid PromQL, only metrics gatehouse exports), the systemd unit.
#include "shell_command.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string source_dir = GATEHOUSE_SOURCE_DIR;
const std::string prometheus_dir = source_dir + "/deploy/prometheus";
const std::string dashboard_path = source_dir + "/deploy/grafana/gatehouse-dashboard.json";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using gatehouse::test::command_result;

/// Runs a shell command, bounded by coreutils' `timeout` (exit code 124 when it ran out).
command_result run(const std::string& command, int seconds = 60) { return gatehouse::test::run_shell(command, seconds); }

/// promtool's path; a missing promtool fails the test (CI installs Debian's `prometheus`).
std::string promtool() {
    if (const char* env = std::getenv("GATEHOUSE_PROMTOOL"); env && *env) return ::access(env, X_OK) == 0 ? env : "";
    for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"})
        if (::access(p, X_OK) == 0) return p;
    return {};
}

#define REQUIRE_PROMTOOL(var)                                                                                   \
    const std::string var = promtool();                                                                        \
    ASSERT_FALSE(var.empty()) << "promtool is missing: install Debian's prometheus package (deploy/setup.sh test does)"

/// A scratch directory, removed at the end of the test.
struct temp_dir {
    std::string path;
    temp_dir() {
        char t[] = "/tmp/gatehouse-deploy-XXXXXX";
        if (::mkdtemp(t)) path = t;
    }
    ~temp_dir() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

/// Every metric gatehouse exports (issue 5), with the series names of its histograms, and Prometheus's own `up`.
const std::set<std::string>& known_metrics() {
    static const std::set<std::string> names = [] {
        std::set<std::string> n{
            "up",
            "gatehouse_http_requests_total",
            "gatehouse_node_up",
            "gatehouse_node_state",
            "gatehouse_health_checks_total",
            "gatehouse_downstream_connections",
            "gatehouse_upstream_connections",
            "gatehouse_upstream_errors_total",
            "gatehouse_retries_total",
            "gatehouse_received_bytes_total",
            "gatehouse_sent_bytes_total",
            "gatehouse_websocket_connections",
            "gatehouse_websocket_upgrades_total",
            "gatehouse_websocket_bytes_total",
            "gatehouse_maintenance_enabled",
            "gatehouse_config_reloads_total",
            "gatehouse_config_last_reload_success_timestamp_seconds",
            "gatehouse_build_info",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        };
        for (const char* h : {"gatehouse_http_request_duration_seconds", "gatehouse_upstream_response_duration_seconds",
                              "gatehouse_health_check_duration_seconds"})
            for (const char* suffix : {"_bucket", "_sum", "_count"}) n.insert(std::string(h) + suffix);
        return n;
    }();
    return names;
}

/// The metric names a text uses (gatehouse_*, process_* and up{...}).
std::set<std::string> metric_names_in(const std::string& text) {
    std::set<std::string> found;
    static const std::regex name(R"(\b(gatehouse_[a-z_]+|process_[a-z_]+|up(?=\{)))");
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) found.insert((*it)[1]);
    return found;
}

/// Every panel (rows' nested panels too).
void collect_panels(const json::array& panels, std::vector<const json::object*>& out) {
    for (const auto& p : panels) {
        out.push_back(&p.as_object());
        if (const auto* nested = p.as_object().if_contains("panels"); nested && nested->is_array())
            collect_panels(nested->as_array(), out);
    }
}

/// Every PromQL expression of the dashboard: panel targets, variables' queries, annotations.
std::vector<std::string> dashboard_queries(const json::object& dashboard) {
    std::vector<std::string> exprs;
    std::vector<const json::object*> panels;
    collect_panels(dashboard.at("panels").as_array(), panels);
    for (const auto* p : panels)
        if (const auto* targets = p->if_contains("targets"))
            for (const auto& t : targets->as_array()) exprs.emplace_back(t.as_object().at("expr").as_string());
    for (const auto& a : dashboard.at("annotations").at("list").as_array())
        if (const auto* e = a.as_object().if_contains("expr")) exprs.emplace_back(e->as_string());
    return exprs;
}

/// Grafana's variables replaced by values Prometheus accepts, so promtool can parse the query.
std::string without_grafana_variables(std::string expr) {
    static const std::vector<std::pair<std::regex, std::string>> replacements{
        {std::regex(R"(\$__rate_interval|\$__interval|\$__range)"), "5m"},
        {std::regex(R"(\$\{?[a-z_]+\}?)"), ".*"},
    };
    for (const auto& [re, value] : replacements) expr = std::regex_replace(expr, re, value);
    return expr;
}

std::string yaml_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'') out += "''";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out + "'";
}

// ---- Prometheus -------------------------------------------------------------------------------------------

TEST(PrometheusConfig, PassesPromtoolCheckConfig) {
    REQUIRE_PROMTOOL(tool);
    temp_dir dir;
    ASSERT_FALSE(dir.path.empty());
    fs::copy_file(prometheus_dir + "/gatehouse-alerts.yml", dir.path + "/gatehouse-alerts.yml");
    const auto config = read_file(prometheus_dir + "/prometheus.yml");

    // As shipped (metrics.require_token = false: no token).
    std::ofstream(dir.path + "/prometheus.yml") << config;
    auto r = run(tool + " check config " + dir.path + "/prometheus.yml");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("SUCCESS: 6 rules found"), std::string::npos) << r.output;

    // With the token block uncommented as the comment says (promtool checks that the token file exists: the copy
    // points at a scratch one).
    const std::string commented = "    # authorization:\n"
                                  "    #   type: Bearer\n"
                                  "    #   credentials_file: /etc/prometheus/gatehouse-admin.token\n";
    auto with_token = config;
    const auto at = with_token.find(commented);
    ASSERT_NE(at, std::string::npos) << "the commented authorization block is gone";
    with_token.replace(at, commented.size(),
                       "    authorization:\n      type: Bearer\n      credentials_file: " + dir.path + "/token\n");
    std::ofstream(dir.path + "/token") << "t0ken\n";
    std::ofstream(dir.path + "/prometheus.yml", std::ios::trunc) << with_token;
    r = run(tool + " check config " + dir.path + "/prometheus.yml");
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << with_token;
}

TEST(PrometheusConfig, ScrapesMetricsOnTheAdminListener) {
    const auto config = read_file(prometheus_dir + "/prometheus.yml");
    EXPECT_NE(config.find("metrics_path: /metrics"), std::string::npos);
    EXPECT_NE(config.find("\"127.0.0.1:9901\""), std::string::npos) << "admin.listen's default";
    EXPECT_NE(config.find("job_name: gatehouse"), std::string::npos) << "the alert rules select job=\"gatehouse\"";
}

TEST(PrometheusRules, PassPromtoolCheckRules) {
    REQUIRE_PROMTOOL(tool);
    const auto r = run(tool + " check rules " + prometheus_dir + "/gatehouse-alerts.yml");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("SUCCESS: 6 rules found"), std::string::npos) << r.output;
}

TEST(PrometheusRules, PassTheirUnitTests) {
    REQUIRE_PROMTOOL(tool);
    // gatehouse-alerts.test.yml: each alert fires on the series it is meant for, at the time it is meant to, and
    // stays quiet otherwise (maintenance, disabled nodes, little traffic).
    const auto r = run("sh -c 'cd " + prometheus_dir + " && " + tool + " test rules gatehouse-alerts.test.yml'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST(PrometheusRules, CoverEveryAlertOfTheIssueAndOnlyKnownMetrics) {
    const auto rules = read_file(prometheus_dir + "/gatehouse-alerts.yml");
    const auto tests = read_file(prometheus_dir + "/gatehouse-alerts.test.yml");
    for (const char* alert : {"GatehouseDown", "GatehouseNodeDown", "GatehouseAllNodesDown", "GatehouseHigh5xxRatio",
                              "GatehouseMaintenanceTooLong", "GatehouseConfigReloadFailed"}) {
        EXPECT_NE(rules.find(std::string("alert: ") + alert + "\n"), std::string::npos) << alert;
        EXPECT_NE(tests.find(std::string("alertname: ") + alert + "\n"), std::string::npos) << alert << " untested";
    }
    for (const auto& name : metric_names_in(rules))
        EXPECT_TRUE(known_metrics().contains(name)) << "the rules use " << name << ", which gatehouse does not export";
}

// ---- Grafana ----------------------------------------------------------------------------------------------

TEST(GrafanaDashboard, IsAValidDashboard) {
    json::error_code ec;
    const auto value = json::parse(read_file(dashboard_path), ec);
    ASSERT_FALSE(ec) << "not valid JSON: " << ec.message();
    const auto& d = value.as_object();
    EXPECT_EQ(d.at("uid").as_string(), "gatehouse");
    EXPECT_EQ(d.at("title").as_string(), "gatehouse");
    EXPECT_TRUE(d.at("schemaVersion").is_int64());

    std::vector<const json::object*> panels;
    collect_panels(d.at("panels").as_array(), panels);
    ASSERT_GE(panels.size(), 10u);
    std::set<std::int64_t> ids;
    std::set<std::string> titles;
    for (const auto* p : panels) {
        const auto title = std::string(p->at("title").as_string());
        SCOPED_TRACE(title);
        EXPECT_TRUE(ids.insert(p->at("id").as_int64()).second) << "duplicate panel id";
        titles.insert(title);
        const auto& grid = p->at("gridPos").as_object();
        EXPECT_LE(grid.at("x").as_int64() + grid.at("w").as_int64(), 24);
        if (p->at("type").as_string() == "row") continue;
        // Every query goes to the data source chosen in the dashboard's variable.
        EXPECT_EQ(p->at("datasource").at("uid").as_string(), "${datasource}");
        const auto& targets = p->at("targets").as_array();
        EXPECT_FALSE(targets.empty());
        for (const auto& t : targets) EXPECT_FALSE(t.at("expr").as_string().empty());
    }
    // What the dashboard is for (issue 5).
    for (const char* t : {"Requests/s by status class", "5xx/s by node", "Request duration (p50, p90, p99)",
                          "Node response time p99 by node", "Node up", "Node states now", "Maintenance",
                          "Client connections", "Node connections", "Open WebSockets by node",
                          "WebSocket upgrades/s by result", "WebSocket bytes/s by direction"})
        EXPECT_TRUE(titles.contains(t)) << "no panel '" << t << "'";
}

TEST(GrafanaDashboard, QueriesOnlyMetricsGatehouseExports) {
    const auto d = json::parse(read_file(dashboard_path)).as_object();
    std::set<std::string> used;
    for (const auto& expr : dashboard_queries(d))
        for (const auto& name : metric_names_in(expr)) used.insert(name);
    for (const auto& t : d.at("templating").at("list").as_array())
        if (const auto* def = t.as_object().if_contains("definition"))
            for (const auto& name : metric_names_in(std::string(def->as_string()))) used.insert(name);
    for (const auto& name : used)
        EXPECT_TRUE(known_metrics().contains(name)) << "the dashboard uses " << name << ", which gatehouse does not export";
    for (const char* needed : {"gatehouse_http_request_duration_seconds_bucket",
                               "gatehouse_upstream_response_duration_seconds_bucket", "gatehouse_node_state",
                               "gatehouse_maintenance_enabled", "gatehouse_downstream_connections",
                               "gatehouse_websocket_connections", "gatehouse_websocket_upgrades_total",
                               "gatehouse_websocket_bytes_total"})
        EXPECT_TRUE(used.contains(needed)) << needed << " is on no panel";
}

TEST(GrafanaDashboard, QueriesAreValidPromQL) {
    REQUIRE_PROMTOOL(tool);
    // promtool has no "check this expression", but it parses every rule's expression: one recording rule per query.
    const auto d = json::parse(read_file(dashboard_path)).as_object();
    const auto exprs = dashboard_queries(d);
    ASSERT_FALSE(exprs.empty());
    temp_dir dir;
    ASSERT_FALSE(dir.path.empty());
    std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
    for (std::size_t i = 0; i < exprs.size(); ++i)
        rules += "      - record: dashboard:query_" + std::to_string(i) + "\n        expr: " +
                 yaml_quote(without_grafana_variables(exprs[i])) + "\n";
    std::ofstream(dir.path + "/dashboard-rules.yml") << rules;
    const auto r = run(tool + " check rules " + dir.path + "/dashboard-rules.yml");
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << rules;
    EXPECT_NE(r.output.find("SUCCESS: " + std::to_string(exprs.size()) + " rules found"), std::string::npos)
        << r.output;
}

// ---- systemd ----------------------------------------------------------------------------------------------

TEST(SystemdUnit, ReloadsWithSighupAndRestartsOnFailure) {
    const auto unit = read_file(source_dir + "/deploy/gatehouse.service");
    ASSERT_FALSE(unit.empty());
    for (const char* line : {"[Unit]\n", "[Service]\n", "[Install]\n", "ExecReload=/bin/kill -HUP $MAINPID\n",
                             "Restart=on-failure\n", "KillSignal=SIGTERM\n", "WantedBy=multi-user.target\n"})
        EXPECT_NE(unit.find(line), std::string::npos) << "missing: " << line;
    EXPECT_NE(unit.find("ExecStart=/usr/local/bin/gatehouse serve -c /etc/gatehouse/gatehouse.toml\n"),
              std::string::npos);
}

// The unit never runs without an admin token by accident: no optional environment file ("EnvironmentFile=-" made a
// missing token file mean "no token"); the check before the start refuses a configuration without a token; the
// state directory (which holds the token file gatehouse creates) is not readable by others.
TEST(SystemdUnit, NeverStartsWithoutAnAdminTokenByAccident) {
    const auto unit = read_file(source_dir + "/deploy/gatehouse.service");
    ASSERT_FALSE(unit.empty());
    EXPECT_EQ(unit.find("EnvironmentFile=-"), std::string::npos);
    EXPECT_NE(unit.find("ExecStartPre=/usr/local/bin/gatehouse check -c /etc/gatehouse/gatehouse.toml\n"),
              std::string::npos);
    EXPECT_NE(unit.find("StateDirectory=gatehouse\n"), std::string::npos);
    EXPECT_NE(unit.find("StateDirectoryMode=0750\n"), std::string::npos);
    // The shipped configuration (installed as /etc/gatehouse/gatehouse.toml) keeps its token file there.
    const auto conf = read_file(source_dir + "/conf/gatehouse.toml");
    EXPECT_NE(conf.find("\ntoken_file = \"/var/lib/gatehouse/admin.token\"\n"), std::string::npos);
    EXPECT_NE(conf.find("\nallow_no_token = false\n"), std::string::npos);
}

// Type=notify: gatehouse says READY=1 itself (sd_notify), the watchdog is on, and the token environment file is
// required (no '-'); the Debian package's postinst creates it 0640 root:gatehouse.
TEST(SystemdUnit, UsesSdNotifyAndTheTokenEnvironmentFile) {
    const auto unit = read_file(source_dir + "/deploy/gatehouse.service");
    for (const char* line : {"Type=notify\n", "NotifyAccess=main\n", "WatchdogSec=30s\n",
                             "EnvironmentFile=/etc/gatehouse/gatehouse.env\n"})
        EXPECT_NE(unit.find(line), std::string::npos) << "missing: " << line;
    EXPECT_EQ(unit.find("Type=simple"), std::string::npos);
    const auto postinst = read_file(source_dir + "/deploy/debian/postinst");
    EXPECT_NE(postinst.find("chown root:gatehouse /etc/gatehouse/gatehouse.env\n"), std::string::npos);
    EXPECT_NE(postinst.find("chmod 0640 /etc/gatehouse/gatehouse.env\n"), std::string::npos);
    EXPECT_NE(postinst.find("umask 077"), std::string::npos);
}

// systemd itself accepts the unit (when systemd-analyze is there; it complains about the binary's absence only).
TEST(SystemdUnit, PassesSystemdAnalyzeVerify) {
    if (::access("/usr/bin/systemd-analyze", X_OK) != 0) GTEST_SKIP() << "no systemd-analyze";
    const auto r = run("/usr/bin/systemd-analyze verify " + source_dir + "/deploy/gatehouse.service");
    for (const char* bad : {"Unknown key", "Unknown section", "Failed to parse", "Invalid", "unknown"})
        EXPECT_EQ(r.output.find(bad), std::string::npos) << r.output;
}

}  // namespace
