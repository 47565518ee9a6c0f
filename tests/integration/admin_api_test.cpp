// The admin API: authentication on every endpoint, /healthz, /api/status, error answers, and the operator CLI
// run against a live gatehouse.
#include "admin_client.hpp"
#include "run_command.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace gatehouse::test {
namespace {

namespace json = boost::json;

class AdminApi : public GatehouseTest {
protected:
    gatehouse_process& start_with_token(std::size_t nodes = 2) {
        for (std::size_t i = 0; i < nodes; ++i) add_upstream("node" + std::to_string(i + 1));
        gatehouse_options o;
        o.admin_token = std::string(admin_token);
        return start_gatehouse(o);
    }
};

json::value parse(const http_response& r) {
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.body;
    return v;
}

struct endpoint_case {
    std::string method, target, body;
};

// Every endpoint but /healthz refuses a request without a token and one with a wrong token (401, logged with the
// peer address, the token never logged), and serves one with the right token.
TEST_F(AdminApi, EveryEndpointNeedsTheRightToken) {
    auto& gh = start_with_token();
    const std::vector<endpoint_case> cases{
        {"GET", "/api/status", ""},
        {"GET", "/api/maintenance", ""},
        {"PUT", "/api/maintenance", R"({"enabled": true, "reason": "tests"})"},
        {"DELETE", "/api/maintenance", ""},
        {"POST", "/api/nodes/node1/drain", ""},
        {"POST", "/api/nodes/node1/disable", ""},
        {"POST", "/api/nodes/node1/enable", ""},
        {"POST", "/api/pin", R"({"node": "node2"})"},
        {"GET", "/api/pin", ""},
        {"DELETE", "/api/pin", ""},
        {"POST", "/api/reload", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method + " " + c.target);
        const auto none = admin_call(gh, c.method, c.target, c.body, "");
        EXPECT_EQ(none.status, 401u) << none.body;
        EXPECT_NE(none.header("WWW-Authenticate").find("Bearer"), std::string::npos);
        EXPECT_NE(none.body.find("missing token"), std::string::npos) << none.body;
        const auto wrong = admin_call(gh, c.method, c.target, c.body, "t0ken-for-tests-but-wrong");
        EXPECT_EQ(wrong.status, 401u) << wrong.body;
        const auto almost = admin_call(gh, c.method, c.target, c.body, "t0ken-for-testz");
        EXPECT_EQ(almost.status, 401u) << almost.body;
        const auto good = admin_call(gh, c.method, c.target, c.body);
        EXPECT_EQ(good.status, 200u) << good.body;
        EXPECT_EQ(good.header("Content-Type"), "application/json");
        EXPECT_EQ(good.header("Cache-Control"), "no-store");
    }
    const auto log = gh.log();
    EXPECT_NE(log.find("admin: refused GET /api/status from 127.0.0.1: missing bearer token"), std::string::npos) << log;
    EXPECT_NE(log.find("admin: refused POST /api/reload from 127.0.0.1: wrong token"), std::string::npos) << log;
    EXPECT_EQ(log.find(admin_token), std::string::npos) << "the token was written to the log";
    EXPECT_NE(log.find("bearer token from file"), std::string::npos) << log;
}

// /healthz answers without a token, also while maintenance is on.
TEST_F(AdminApi, HealthzNeedsNoTokenAndAnswersDuringMaintenance) {
    auto& gh = start_with_token();
    auto r = admin_call(gh, "GET", "/healthz", "", "");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "ok\n");
    ASSERT_EQ(admin_call(gh, "PUT", "/api/maintenance", R"({"reason": "upgrade"})").status, 200u);
    r = admin_call(gh, "GET", "/healthz", "", "");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "ok\n");
    EXPECT_EQ(admin_call(gh, "POST", "/healthz", "", "").status, 405u);
}

// Without a configured token the API serves loopback clients (these tests' only peers) and says so at start.
TEST_F(AdminApi, WithoutTokenLoopbackClientsAreServedAndTheStartLineSaysSo) {
    add_upstream("node1");
    auto& gh = start_gatehouse();
    EXPECT_TRUE(gh.wait_for_log("without a token: loopback clients only", 2s)) << gh.log();
    EXPECT_EQ(admin_call(gh, "GET", "/api/status", "", "").status, 200u);
}

// /api/status: version, uptime, maintenance, and every node with its state, weight, in-flight requests and last
// check.
TEST_F(AdminApi, StatusShowsNodesWithStateInFlightAndLastCheck) {
    auto& n1 = add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    o.health_check = {{"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);

    // A slow request holds node1 (round-robin starts there) while the status is read.
    std::thread slow([&] { (void)get(gh.port(), "/slow/1500"); });
    ASSERT_TRUE(n1.wait_for_requests(1, 3s));
    const auto r = admin_call(gh, "GET", "/api/status");
    slow.join();
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto v = parse(r);
    const auto& s = v.as_object();
    EXPECT_TRUE(s.at("version").is_string());
    EXPECT_TRUE(s.at("uptime_seconds").is_int64());
    EXPECT_EQ(s.at("maintenance").at("enabled").as_bool(), false);
    const auto& nodes = s.at("nodes").as_array();
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[0].at("name").as_string(), "node1");
    EXPECT_EQ(nodes[0].at("address").as_string(), n1.address());
    EXPECT_EQ(nodes[0].at("state").as_string(), "up");
    EXPECT_EQ(nodes[0].at("weight").as_int64(), 1);
    EXPECT_EQ(nodes[0].at("in_flight").as_int64(), 1) << r.body;
    EXPECT_EQ(nodes[1].at("in_flight").as_int64(), 0) << r.body;
    const auto& last = nodes[0].at("last_check");
    ASSERT_TRUE(last.is_object()) << r.body;
    EXPECT_EQ(last.at("result").as_string(), "pass");
    EXPECT_EQ(last.at("detail").as_string(), "ok");
    EXPECT_FALSE(last.at("at").as_string().empty());
}

// A node that answers NocoBase's 503 "maintaining" shows as starting with its code, command and message in the last
// check.
TEST_F(AdminApi, StatusShowsAStartingNodesCode) {
    add_upstream("node1");
    auto& n2 = add_upstream("node2");
    gatehouse_options o;
    o.health_check = {{"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    n2.set_health(health_mode::starting);
    ASSERT_TRUE(gh.wait_for_log("node2 starting: APP_COMMANDING upgrade", 3s)) << gh.log();
    const auto v = parse(admin_call(gh, "GET", "/api/status", "", ""));
    const auto& node2 = v.at("nodes").as_array()[1];
    EXPECT_EQ(node2.at("state").as_string(), "starting");
    EXPECT_EQ(node2.at("last_check").at("result").as_string(), "starting");
    EXPECT_EQ(node2.at("last_check").at("detail").as_string(), "APP_COMMANDING upgrade: upgrading");
}

// Malformed JSON, wrong member types, unknown members, unknown nodes, unknown paths and wrong methods get a 4xx
// with a JSON error saying what was wrong.
TEST_F(AdminApi, BadRequestsGetA4xxWithAJsonError) {
    auto& gh = start_with_token();
    const auto expect_error = [&](std::string_view method, std::string_view target, std::string_view body,
                                  unsigned status, std::string_view says) -> http_response {
        SCOPED_TRACE(std::string(method) + " " + std::string(target) + " " + std::string(body));
        const auto r = admin_call(gh, method, target, body);
        EXPECT_EQ(r.status, status) << r.body;
        const auto v = parse(r);
        EXPECT_TRUE(v.is_object() && v.as_object().contains("error")) << r.body;
        if (!v.is_object() || !v.as_object().contains("error")) return r;
        EXPECT_NE(std::string(v.at("error").as_string()).find(says), std::string::npos) << r.body;
        return r;
    };
    expect_error("PUT", "/api/maintenance", "{\"enabled\": tru", 400, "malformed JSON");
    expect_error("PUT", "/api/maintenance", "[1,2]", 400, "must be an object");
    expect_error("PUT", "/api/maintenance", R"({"enabled": "yes"})", 400, "'enabled' must be true or false");
    expect_error("PUT", "/api/maintenance", R"({"reason": 5})", 400, "'reason' must be a string");
    expect_error("PUT", "/api/maintenance", R"({"reasn": "x"})", 400, "unknown member 'reasn'");
    expect_error("PUT", "/api/maintenance", R"({"verify_node": "node9"})", 404, "unknown node 'node9'");
    expect_error("POST", "/api/nodes/node9/drain", "", 404, "unknown node 'node9'");
    expect_error("POST", "/api/nodes/node1/explode", "", 404, "unknown node action");
    expect_error("POST", "/api/pin", R"({"node": "node9"})", 404, "unknown node 'node9'");
    expect_error("POST", "/api/pin", "{}", 400, "'node' is required");
    expect_error("GET", "/api/nope", "", 404, "no such admin endpoint");
    const auto r = expect_error("GET", "/api/reload", "", 405, "method not allowed");
    EXPECT_EQ(r.header("Allow"), "POST");
    expect_error("PATCH", "/api/maintenance", "", 405, "method not allowed");
    // Nothing of the above changed anything.
    const auto m = parse(admin_call(gh, "GET", "/api/maintenance"));
    EXPECT_FALSE(m.at("enabled").as_bool());
}

// ---- the command line against a running gatehouse ----

TEST_F(AdminApi, CommandLineDrivesARunningGatehouse) {
    add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    // The admin address and the token come from the same configuration file gatehouse runs on.
    const auto cli = [&](std::vector<std::string> args) {
        args.push_back("-c");
        args.push_back(gh.config_path());
        return run_gatehouse(std::move(args), gh.dir());
    };

    auto r = cli({"maintenance", "on", "--reason", "upgrade to 1.7", "--verify-node", "node2"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("maintenance on since"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("upgrade to 1.7"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("bypassed requests go to node2"), std::string::npos) << r.output;
    EXPECT_EQ(get(gh.port(), "/").status, 503u);

    r = cli({"maintenance", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("maintenance on"), std::string::npos) << r.output;

    r = cli({"maintenance", "status", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(parse(http_response{.body = r.output}).at("enabled").as_bool()) << r.output;

    r = cli({"maintenance", "off"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("maintenance off"), std::string::npos) << r.output;
    EXPECT_EQ(get(gh.port(), "/").status, 200u);

    r = cli({"drain", "node1"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("node1 draining"), std::string::npos) << r.output;
    r = cli({"nodes"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("node1"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("draining"), std::string::npos) << r.output;
    r = cli({"enable", "node1"});
    EXPECT_EQ(r.exit_code, 0) << r.output;

    r = cli({"pin", "node2"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("pinned to node2"), std::string::npos) << r.output;
    for (int i = 0; i < 4; ++i) EXPECT_EQ(get(gh.port(), "/").header("X-Node"), "node2");
    r = cli({"unpin"});
    EXPECT_EQ(r.exit_code, 0) << r.output;

    r = cli({"reload"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("configuration reloaded"), std::string::npos) << r.output;

    // Failures: exit code 1 and the reason.
    r = cli({"drain", "node9"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("unknown node 'node9'"), std::string::npos) << r.output;
    r = run_gatehouse({"nodes", "--admin", "127.0.0.1:" + std::to_string(gh.admin_port()), "--token", "wrong",
                       "-c", "/nonexistent.toml"},
                      gh.dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("401"), std::string::npos) << r.output;
    r = run_gatehouse({"nodes", "--admin", "127.0.0.1:" + std::to_string(reserve_port()), "-c", "/nonexistent.toml"},
                      gh.dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("cannot reach the admin API"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test
