// Maintenance mode under load, its answers (page, NocoBase JSON), the operator bypass, verify_node, pin, drain and
// persistence across a restart.
#include "admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace gatehouse::test {
namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

class Maintenance : public GatehouseTest {
protected:
    gatehouse_options with_token(gatehouse_options o = {}) {
        o.admin_token = std::string(admin_token);
        return o;
    }
};

void maintenance_on(const gatehouse_process& gh, std::string_view body) {
    const auto r = admin_call(gh, "PUT", "/api/maintenance", body);
    ASSERT_EQ(r.status, 200u) << r.body;
}

void maintenance_off(const gatehouse_process& gh) {
    const auto r = admin_call(gh, "DELETE", "/api/maintenance");
    ASSERT_EQ(r.status, 200u) << r.body;
}

bool is_maintenance_answer(const recorded_load::exchange& x) {
    return x.status == 503 && x.node.empty() &&
           ((x.content_type.starts_with("text/html") && x.body.find("upgrade to 1.7") != std::string::npos) ||
            (x.content_type.starts_with("application/json") && x.body.find("\"maintaining\":true") != std::string::npos));
}

// Under steady load (4 keep-alive clients on page and API paths): every request sent after the switch-on call
// returned gets the maintenance answer, every request sent after the switch-off call returned reaches a node, a
// request in flight at the switch completes, and keep-alive connections stay open throughout.
TEST_F(Maintenance, SwitchesUnderLoadWithoutErrorsAndFinishesInFlightRequests) {
    auto& n1 = add_upstream("node1");
    auto& n2 = add_upstream("node2");
    auto& gh = start_gatehouse(with_token({.workers = 2}));
    recorded_load load(gh.port(), 4, {"/", "/api/users:list", "/page"});
    ASSERT_TRUE(load.wait_for_more(200));

    // A slow request is in flight at a node when maintenance goes on.
    std::optional<http_response> slow;
    std::thread slow_client([&] { slow = get(gh.port(), "/slow/1200"); });
    ASSERT_TRUE(wait_until([&] { return n1.received("/slow/1200") || n2.received("/slow/1200"); }, 3s));

    maintenance_on(gh, R"({"enabled": true, "reason": "upgrade to 1.7"})");
    const auto on_returned = clock::now();
    ASSERT_TRUE(load.wait_for_more(300));
    const auto off_called = clock::now();  // from here on a node may answer (the switch applies before the call returns)
    maintenance_off(gh);
    const auto off_returned = clock::now();
    ASSERT_TRUE(load.wait_for_more(300));
    load.stop();
    slow_client.join();

    ASSERT_TRUE(slow.has_value());
    EXPECT_EQ(slow->status, 200u) << "the request in flight at the switch did not complete: " << slow->raw;

    std::size_t during = 0, after = 0, reused_during = 0;
    for (const auto& x : load.log()) {
        EXPECT_TRUE(x.error.empty()) << describe(x);
        if (x.sent >= on_returned && x.answered < off_called) {
            ++during;
            if (x.same_connection) ++reused_during;
            EXPECT_TRUE(is_maintenance_answer(x))
                << "sent " << std::chrono::duration_cast<std::chrono::microseconds>(x.sent - on_returned).count()
                << " us after maintenance went on: " << describe(x);
        }
        if (x.sent >= off_returned) {
            ++after;
            EXPECT_EQ(x.status, 200u) << "sent after maintenance went off: " << describe(x);
            EXPECT_FALSE(x.node.empty()) << describe(x);
        }
    }
    EXPECT_GE(during, 100u);
    EXPECT_GE(after, 100u);
    EXPECT_GE(reused_during, during / 2) << "keep-alive connections were closed by the maintenance answers";
}

// The answers while on: the configured page (with the reason filled in) for browsers, NocoBase's maintenance JSON
// for /api/ paths, Accept: application/json and the health path; Retry-After from the configuration; no-store.
TEST_F(Maintenance, AnswersWithThePageOrNocoBaseJson) {
    add_upstream("node1");
    const std::string page = scratch_dir() + "/maintenance.html";
    std::ofstream(page) << "<!doctype html><title>Down for maintenance</title><p>Reason: {{reason}}</p>\n";
    auto& gh = start_gatehouse(with_token(
        {.maintenance = {{"page", "\"" + page + "\""}, {"retry_after", "\"45s\""}}}));
    maintenance_on(gh, R"({"reason": "upgrade to <1.7>"})");

    const auto html = get(gh.port(), "/admin/settings", "Accept: text/html\r\n");
    EXPECT_EQ(html.status, 503u);
    EXPECT_EQ(html.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(html.header("Retry-After"), "45");
    EXPECT_EQ(html.header("Cache-Control"), "no-store");
    EXPECT_EQ(html.body, "<!doctype html><title>Down for maintenance</title><p>Reason: upgrade to &lt;1.7&gt;</p>\n");

    for (const auto& [target, headers] : std::vector<std::pair<std::string, std::string>>{
             {"/api/users:list", ""}, {"/api/__health_check", ""}, {"/anything", "Accept: application/json\r\n"}}) {
        SCOPED_TRACE(target);
        const auto r = get(gh.port(), target, headers);
        EXPECT_EQ(r.status, 503u);
        EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
        EXPECT_EQ(r.header("Retry-After"), "45");
        json::error_code ec;
        const auto v = json::parse(r.body, ec);
        ASSERT_FALSE(ec) << r.body;
        const auto& e = v.at("error");
        EXPECT_EQ(e.at("status").as_int64(), 503);
        EXPECT_EQ(e.at("code").as_string(), "APP_COMMANDING");
        EXPECT_EQ(e.at("maintaining").as_bool(), true);
        EXPECT_EQ(e.at("message").as_string(), "upgrade to <1.7>");
        EXPECT_EQ(e.at("command").at("name").as_string(), "upgrade");
    }
    // A WebSocket upgrade gets the 503 too.
    const auto ws = get(gh.port(), "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    EXPECT_EQ(ws.status, 503u);
    // GET /api/maintenance reports it.
    json::error_code ec;
    const auto m = json::parse(admin_call(gh, "GET", "/api/maintenance").body, ec);
    EXPECT_TRUE(m.at("enabled").as_bool());
    EXPECT_EQ(m.at("reason").as_string(), "upgrade to <1.7>");
    EXPECT_TRUE(m.at("since").is_string());
}

// Clients in bypass_cidrs reach the nodes while everyone else gets the maintenance answer; a client behind a
// trusted proxy is judged by its own address.
TEST_F(Maintenance, BypassByClientAddress) {
    add_upstream("node1");
    auto& gh = start_gatehouse(with_token(
        {.trusted_proxies = {"127.0.0.1/32"}, .maintenance = {{"bypass_cidrs", "[\"203.0.113.0/24\"]"}}}));
    maintenance_on(gh, R"({"reason": "upgrade to 1.7"})");
    EXPECT_EQ(get(gh.port(), "/").status, 503u);
    const auto operator_request = get(gh.port(), "/", "X-Forwarded-For: 203.0.113.7\r\n");
    EXPECT_EQ(operator_request.status, 200u);
    EXPECT_EQ(operator_request.header("X-Node"), "node1");
    EXPECT_EQ(get(gh.port(), "/", "X-Forwarded-For: 198.51.100.7\r\n").status, 503u);
}

// A trusted proxy that appends its own X-Forwarded-For line: the client is the right-most untrusted entry of all
// lines joined, so a client-written first line naming a bypass address gets the maintenance answer.
TEST_F(Maintenance, BypassJudgesEveryForwardedForLine) {
    auto& node = add_upstream("node1");
    auto& gh = start_gatehouse(with_token(
        {.trusted_proxies = {"127.0.0.0/8"}, .maintenance = {{"bypass_cidrs", "[\"10.0.0.0/8\"]"}}}));
    maintenance_on(gh, R"({"reason": "upgrade to 1.7"})");
    const auto spoofed = get(gh.port(), "/", "X-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 203.0.113.9\r\n");
    EXPECT_EQ(spoofed.status, 503u) << spoofed.raw;
    EXPECT_EQ(node.requests(), 0u) << node.last_head();
    // The operator's own address, appended by the proxy after whatever the client wrote, still bypasses.
    EXPECT_EQ(get(gh.port(), "/", "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 10.1.1.1\r\n").status, 200u);
}

// A chain gatehouse cannot read ("unknown", garbage) means an unknown client, which never bypasses, even when the
// trusted proxy itself is in bypass_cidrs; `ip:port` entries are understood (the port is not a reason to fall
// back to the proxy's address).
TEST_F(Maintenance, MalformedForwardedForNeverBypasses) {
    add_upstream("node1");
    auto& gh = start_gatehouse(with_token(
        {.trusted_proxies = {"127.0.0.0/8"}, .maintenance = {{"bypass_cidrs", "[\"127.0.0.0/8\"]"}}}));
    maintenance_on(gh, R"({"reason": "upgrade to 1.7"})");
    for (const char* chain : {"unknown", "203.0.113.9, unknown", "garbage", "203.0.113.9:5555", "[2001:db8::1]:443"}) {
        const auto r = get(gh.port(), "/", std::string("X-Forwarded-For: ") + chain + "\r\n");
        EXPECT_EQ(r.status, 503u) << chain << ": " << r.raw;
    }
    // The proxy itself (no X-Forwarded-For) is the client, and it is in bypass_cidrs.
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
}

// The secret cookie bypasses (and is not forwarded); a wrong value or another cookie name does not.
TEST_F(Maintenance, BypassBySecretCookie) {
    auto& node = add_upstream("node1");
    auto& gh = start_gatehouse(
        with_token({.maintenance = {{"bypass_cookie", "\"gh_bypass=s3cret-value-0123456789abcdef0123\""}}}));
    maintenance_on(gh, R"({"reason": "upgrade to 1.7"})");
    EXPECT_EQ(get(gh.port(), "/", "Cookie: a=1; gh_bypass=s3cret-value-0123456789abcdef0123; b=2\r\n").status, 200u);
    // The secret stays at the edge: the node gets the other cookies only.
    EXPECT_EQ(head_field(node.last_head(), "Cookie"), "a=1; b=2");
    EXPECT_FALSE(node.received("s3cret-value-0123456789abcdef0123"));
    EXPECT_EQ(get(gh.port(), "/", "Cookie: gh_bypass=s3cret-value-0123456789abcdef012X\r\n").status, 503u);
    EXPECT_EQ(get(gh.port(), "/", "Cookie: gh_bypass=s3cret\r\n").status, 503u);
    EXPECT_EQ(get(gh.port(), "/", "Cookie: other=s3cret-value-0123456789abcdef0123\r\n").status, 503u);
    EXPECT_EQ(get(gh.port(), "/").status, 503u);
}

// With verify_node, bypassed requests go only to that node, even while its health checks fail (the operator is
// checking the node that was just upgraded); the others still see the maintenance page.
TEST_F(Maintenance, VerifyNodeGetsEveryBypassedRequestWhateverItsHealth) {
    add_upstream("node1");
    auto& n2 = add_upstream("node2");
    n2.set_health(health_mode::error500);
    gatehouse_options o = with_token({.maintenance = {{"bypass_cookie", "\"op=0123456789abcdef0123456789abcdef\""}}});
    o.health_check = {{"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"fall", "1"}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    ASSERT_TRUE(gh.wait_for_log("node2 down", 3s)) << gh.log();
    maintenance_on(gh, R"({"reason": "upgrade to 1.7", "verify_node": "node2"})");
    for (int i = 0; i < 6; ++i) {
        const auto r = get(gh.port(), "/", "Cookie: op=0123456789abcdef0123456789abcdef\r\n");
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.header("X-Node"), "node2");
        EXPECT_EQ(get(gh.port(), "/").status, 503u);
    }
}

// Pin sends every new request to one node; unpin restores balancing.
TEST_F(Maintenance, PinAndUnpin) {
    add_upstream("node1");
    add_upstream("node2");
    add_upstream("node3");
    auto& gh = start_gatehouse(with_token());
    ASSERT_EQ(admin_call(gh, "POST", "/api/pin", R"({"node": "node3"})").status, 200u);
    for (int i = 0; i < 9; ++i) EXPECT_EQ(get(gh.port(), "/").header("X-Node"), "node3");
    json::error_code ec;
    auto status = json::parse(admin_call(gh, "GET", "/api/status").body, ec);
    EXPECT_EQ(status.at("pinned_node").as_string(), "node3");
    EXPECT_EQ(status.at("nodes").as_array()[0].at("state").as_string(), "draining");
    ASSERT_EQ(admin_call(gh, "DELETE", "/api/pin").status, 200u);
    std::map<std::string, int> seen;
    for (int i = 0; i < 9; ++i) ++seen[get(gh.port(), "/").header("X-Node")];
    EXPECT_EQ(seen.size(), 3u);
    // A drained node cannot be pinned, a pinned node cannot be drained.
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node1/drain").status, 200u);
    EXPECT_EQ(admin_call(gh, "POST", "/api/pin", R"({"node": "node1"})").status, 409u);
    ASSERT_EQ(admin_call(gh, "POST", "/api/pin", R"({"node": "node2"})").status, 200u);
    EXPECT_EQ(admin_call(gh, "POST", "/api/nodes/node2/disable").status, 409u);
}

// Drain: the request in flight at the drained node finishes; no new request goes there; enable brings it back.
TEST_F(Maintenance, DrainLetsALongRequestFinishAndSendsNoNewOne) {
    auto& n1 = add_upstream("node1");
    auto& n2 = add_upstream("node2");
    auto& gh = start_gatehouse(with_token());
    std::optional<http_response> slow;
    std::thread slow_client([&] { slow = get(gh.port(), "/slow/1500"); });  // round-robin starts at node1
    ASSERT_TRUE(n1.wait_for_requests(1, 3s));
    const auto r = admin_call(gh, "POST", "/api/nodes/node1/drain");
    ASSERT_EQ(r.status, 200u) << r.body;
    json::error_code ec;
    const auto status = json::parse(admin_call(gh, "GET", "/api/status").body, ec);
    EXPECT_EQ(status.at("nodes").as_array()[0].at("state").as_string(), "draining");
    EXPECT_EQ(status.at("nodes").as_array()[0].at("in_flight").as_int64(), 1);

    const auto node1_before = n1.requests();
    for (int i = 0; i < 10; ++i) {
        const auto x = get(gh.port(), "/");
        EXPECT_EQ(x.status, 200u);
        EXPECT_EQ(x.header("X-Node"), "node2");
    }
    slow_client.join();
    ASSERT_TRUE(slow.has_value());
    EXPECT_EQ(slow->status, 200u);
    EXPECT_EQ(slow->header("X-Node"), "node1");
    EXPECT_EQ(n1.requests(), node1_before);
    EXPECT_GE(n2.requests(), 10u);

    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node1/enable").status, 200u);
    std::map<std::string, int> seen;
    for (int i = 0; i < 6; ++i) ++seen[get(gh.port(), "/").header("X-Node")];
    EXPECT_EQ(seen["node1"], 3);
}

// Disable stops the node's health checks; enable resumes them and the node returns after a passing check.
TEST_F(Maintenance, DisableStopsChecksAndEnableNeedsAPassingCheck) {
    auto& n1 = add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o = with_token();
    o.health_check = {{"interval", "\"100ms\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node1/disable").status, 200u);
    // Grace for a check already under way when the call came (connected, its request not yet at the node): no
    // event marks its end, so this stays a sleep (1.5 check intervals).
    std::this_thread::sleep_for(150ms);
    const auto checks = n1.health_checks();
    std::this_thread::sleep_for(600ms);  // the behaviour under test: six check intervals pass without a check
    EXPECT_EQ(n1.health_checks(), checks) << "a disabled node was still checked";
    for (int i = 0; i < 4; ++i) EXPECT_EQ(get(gh.port(), "/").header("X-Node"), "node2");
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node1/enable").status, 200u);
    // Until its first passing check the node takes nothing.
    EXPECT_TRUE(wait_until([&] { return occurrences(gh.log(), "node1 up: first check passed") == 2; }, 2s)) << gh.log();
    EXPECT_GT(n1.health_checks(), checks);
    std::map<std::string, int> seen;
    for (int i = 0; i < 4; ++i) ++seen[get(gh.port(), "/").header("X-Node")];
    EXPECT_EQ(seen["node1"], 2);
}

// Maintenance, drained nodes and the pin survive a restart through the state file; --maintenance starts in
// maintenance.
TEST_F(Maintenance, StateSurvivesARestartAndServeMaintenanceFlagStartsInIt) {
    add_upstream("node1");
    add_upstream("node2");
    add_upstream("node3");
    const std::string state_file = scratch_dir() + "/state/gatehouse.json";
    gatehouse_options o = with_token({.maintenance = {{"state_file", "\"" + state_file + "\""}}});
    for (const auto& u : upstreams_) o.nodes.push_back({u->name(), u->address()});
    auto first = std::make_unique<gatehouse_process>(o);
    maintenance_on(*first, R"({"reason": "upgrade to 1.7", "verify_node": "node2"})");
    ASSERT_EQ(admin_call(*first, "POST", "/api/nodes/node3/drain").status, 200u);
    ASSERT_EQ(admin_call(*first, "POST", "/api/pin", R"({"node": "node2"})").status, 200u);
    ASSERT_TRUE(std::filesystem::exists(state_file));
    first->signal(SIGTERM);
    ASSERT_EQ(first->wait_exit(10s), 0);

    gatehouse_process second(first->config_text(), first->port(), first->admin_port());
    EXPECT_TRUE(second.wait_for_log("restored operator state from " + state_file, 2s)) << second.log();
    EXPECT_EQ(get(second.port(), "/").status, 503u);
    json::error_code ec;
    // The token file belongs to `first`'s directory, which still exists.
    const auto status = json::parse(admin_call(second, "GET", "/api/status").body, ec);
    ASSERT_FALSE(ec);
    EXPECT_TRUE(status.at("maintenance").at("enabled").as_bool());
    EXPECT_EQ(status.at("maintenance").at("reason").as_string(), "upgrade to 1.7");
    EXPECT_EQ(status.at("maintenance").at("verify_node").as_string(), "node2");
    EXPECT_EQ(status.at("pinned_node").as_string(), "node2");
    EXPECT_EQ(status.at("nodes").as_array()[2].at("admin").as_string(), "draining");

    // Off, restart: off.
    maintenance_off(second);
    second.signal(SIGTERM);
    ASSERT_EQ(second.wait_exit(10s), 0);
    gatehouse_process third(first->config_text(), first->port(), first->admin_port());
    EXPECT_EQ(get(third.port(), "/").status, 200u);
    third.signal(SIGTERM);
    ASSERT_EQ(third.wait_exit(10s), 0);

    // --maintenance overrides the saved "off".
    gatehouse_process fourth(first->config_text(), first->port(), first->admin_port(), 10s, {"--maintenance"});
    EXPECT_TRUE(fourth.wait_for_log("starting in maintenance mode", 2s)) << fourth.log();
    const auto r = get(fourth.port(), "/api/x");
    EXPECT_EQ(r.status, 503u);
    EXPECT_NE(r.body.find("APP_COMMANDING"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace gatehouse::test
