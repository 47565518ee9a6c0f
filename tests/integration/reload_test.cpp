// Reloading the configuration (POST /api/reload and SIGHUP): a broken file changes nothing, a good one applies
// without dropping a request, nodes keep their state, listeners that stay keep their connections.
#include "admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace gatehouse::test {
namespace {

namespace json = boost::json;

class Reload : public GatehouseTest {};

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "'" << from << "' not in:\n" << text;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

json::value status_of(const gatehouse_process& gh) {
    json::error_code ec;
    auto v = json::parse(admin_call(gh, "GET", "/api/status").body, ec);
    EXPECT_FALSE(ec);
    return v;
}

// A broken file is reported (file, line, key) and the running configuration stays, by API and by SIGHUP.
TEST_F(Reload, BrokenFileKeepsTheRunningConfiguration) {
    add_upstream("node1");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    const auto good = gh.config_text();
    const auto generation = status_of(gh).at("generation").as_int64();

    gh.rewrite_config(good + "\n[upstream]\nbalance = \"fastest\"\n");
    auto r = admin_call(gh, "POST", "/api/reload");
    EXPECT_EQ(r.status, 400u) << r.body;
    json::error_code ec;
    const auto v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_NE(std::string(v.at("error").as_string()).find("running configuration stays"), std::string::npos);
    const auto& problems = v.at("problems").as_array();
    ASSERT_FALSE(problems.empty());
    const std::string first(problems[0].as_string());
    EXPECT_NE(first.find(gh.config_path() + ":"), std::string::npos) << first;

    gh.rewrite_config(replace_once(good, "[upstream]\n", "[upstream]\nbalance = \"fastest\"\n"));
    r = admin_call(gh, "POST", "/api/reload");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_NE(r.body.find("upstream.balance"), std::string::npos) << r.body;

    gh.rewrite_config("this is not = = toml");
    gh.signal(SIGHUP);
    EXPECT_TRUE(gh.wait_for_log("(by SIGHUP), keeping the running configuration", 3s)) << gh.log();
    EXPECT_TRUE(gh.running());

    EXPECT_EQ(get(gh.port(), "/").status, 200u);
    const auto s = status_of(gh);
    EXPECT_EQ(s.at("generation").as_int64(), generation);
    EXPECT_EQ(s.at("reloads").at("failed").as_int64(), 3);
    EXPECT_EQ(s.at("reloads").at("succeeded").as_int64(), 0);
}

// A reload that fails late (an access log that cannot be opened) changes nothing, not even operator decisions
// about nodes the new file drops.
TEST_F(Reload, FailedReloadKeepsOperatorDecisions) {
    add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node2/drain").status, 200u);
    const std::string node2 = "\n[[upstream.node]]\nname = \"node2\"\naddress = \"" + upstreams_[1]->address() + "\"\n";
    gh.rewrite_config(replace_once(gh.config_text(), node2, "") +
                      "\n[log]\naccess = \"/nonexistent-dir/access.log\"\n");
    const auto r = admin_call(gh, "POST", "/api/reload");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_NE(r.body.find("log.access"), std::string::npos) << r.body;
    const auto s = status_of(gh);
    ASSERT_EQ(s.at("nodes").as_array().size(), 2u);
    EXPECT_EQ(s.at("nodes").as_array()[1].at("admin").as_string(), "draining");
    for (int i = 0; i < 4; ++i) EXPECT_EQ(get(gh.port(), "/").header("X-Node"), "node1");
}

// A reload that adds a node and a listen address applies both; the node that stayed keeps its health, and a
// keep-alive connection opened before the reload keeps working.
TEST_F(Reload, AddsANodeAndAListenerKeepingWhatStayed) {
    add_upstream("node1");
    auto& n2 = add_upstream("node2");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    o.nodes = {{"node1", upstreams_[0]->address()}};
    o.health_check = {{"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    client_connection before(gh.port());
    before.send(get_request("/"));
    ASSERT_EQ(before.read_response().status, 200u);
    const auto checks_before = status_of(gh).at("nodes").as_array()[0].at("check_history").as_array().size();

    const auto second_port = reserve_port();
    auto text = replace_once(gh.config_text(), "listen = [\"127.0.0.1:" + std::to_string(gh.port()) + "\"]",
                             "listen = [\"127.0.0.1:" + std::to_string(gh.port()) + "\", \"127.0.0.1:" +
                                 std::to_string(second_port) + "\"]");
    text = replace_once(text, "\n[health_check]", "\n[[upstream.node]]\nname = \"node2\"\naddress = \"" + n2.address() +
                                                     "\"\n\n[health_check]");
    gh.rewrite_config(text);
    const auto r = admin_call(gh, "POST", "/api/reload");
    ASSERT_EQ(r.status, 200u) << r.body << gh.log();

    // node2 takes traffic after its first check, which a reload starts at once.
    ASSERT_TRUE(gh.wait_for_log("node2 up: first check passed", 2s)) << gh.log();
    std::map<std::string, int> seen;
    for (int i = 0; i < 6; ++i) ++seen[get(second_port, "/").header("X-Node")];
    EXPECT_EQ(seen["node1"], 3);
    EXPECT_EQ(seen["node2"], 3);
    before.send(get_request("/"));
    EXPECT_EQ(before.read_response().status, 200u);
    const auto s = status_of(gh);
    EXPECT_EQ(s.at("nodes").as_array().size(), 2u);
    EXPECT_EQ(s.at("nodes").as_array()[0].at("state").as_string(), "up");
    EXPECT_GE(s.at("nodes").as_array()[0].at("check_history").as_array().size(), checks_before)
        << "node1's check history was lost";
    EXPECT_EQ(occurrences(gh.log(), "info node1 up"), 1u) << "node1 was re-judged from scratch:\n" << gh.log();
}

// The maintenance page is read at load and again at every reload (it is served from memory in between).
TEST_F(Reload, RereadsTheMaintenancePage) {
    add_upstream("node1");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    const std::string dir = scratch_dir();
    std::ofstream(dir + "/page.html") << "<p>first {{reason}}</p>";
    o.maintenance = {{"page", "\"" + dir + "/page.html\""}};
    auto& gh = start_gatehouse(o);
    ASSERT_EQ(admin_call(gh, "PUT", "/api/maintenance", R"({"reason": "r"})").status, 200u);
    EXPECT_EQ(get(gh.port(), "/").body, "<p>first r</p>");
    std::ofstream(dir + "/page.html", std::ios::trunc) << "<p>second {{reason}}</p>";
    EXPECT_EQ(get(gh.port(), "/").body, "<p>first r</p>") << "the page is served from memory until a reload";
    ASSERT_EQ(admin_call(gh, "POST", "/api/reload").status, 200u);
    EXPECT_EQ(get(gh.port(), "/").body, "<p>second r</p>");
    std::filesystem::remove(dir + "/page.html");
    const auto r = admin_call(gh, "POST", "/api/reload");
    EXPECT_EQ(r.status, 400u) << "a missing page is a configuration error";
    EXPECT_NE(r.body.find("maintenance.page"), std::string::npos) << r.body;
    EXPECT_EQ(get(gh.port(), "/").body, "<p>second r</p>");
}

// A listen address removed by a reload stops accepting; connections it already had keep working.
TEST_F(Reload, RemovedListenerStopsAcceptingButKeepsItsConnections) {
    add_upstream("node1");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    const auto kept_port = reserve_port();
    const std::string old_listen = "listen = [\"127.0.0.1:" + std::to_string(gh.port()) + "\"]";
    const std::string both_listen = "listen = [\"127.0.0.1:" + std::to_string(gh.port()) + "\", \"127.0.0.1:" +
                                    std::to_string(kept_port) + "\"]";
    gh.rewrite_config(replace_once(gh.config_text(), old_listen, both_listen));
    ASSERT_EQ(admin_call(gh, "POST", "/api/reload").status, 200u);
    client_connection old_connection(gh.port());
    old_connection.send(get_request("/"));
    ASSERT_EQ(old_connection.read_response().status, 200u);

    gh.rewrite_config(
        replace_once(gh.config_text(), both_listen, "listen = [\"127.0.0.1:" + std::to_string(kept_port) + "\"]"));
    ASSERT_EQ(admin_call(gh, "POST", "/api/reload").status, 200u);
    EXPECT_EQ(get(kept_port, "/").status, 200u);
    EXPECT_THROW(get(gh.port(), "/"), std::exception) << "the removed listener still accepts";
    old_connection.send(get_request("/"));
    EXPECT_EQ(old_connection.read_response().status, 200u);
}

// 50 reloads in a row (API and SIGHUP, each changing a value, some a node's weight) under steady load with health
// checks on: zero failed requests, and the nodes never leave rotation.
TEST_F(Reload, FiftyReloadsUnderLoadFailNoRequest) {
    add_upstream("node1");
    add_upstream("node2");
    gatehouse_options o;
    o.workers = 2;
    o.admin_token = std::string(admin_token);
    o.timeouts = {{"client_idle", "60s"}};
    o.health_check = {{"interval", "\"200ms\""}, {"timeout", "\"300ms\""}, {"jitter", "\"0ms\""}};
    auto& gh = start_gatehouse(o);
    const auto base = gh.config_text();
    recorded_load load(gh.port(), 4, {"/", "/api/users:list"});
    ASSERT_TRUE(load.wait_for_more(100));
    const std::string node2 = "name = \"node2\"\naddress = \"" + upstreams_[1]->address() + "\"\n";
    for (int i = 0; i < 50; ++i) {
        // Every reload changes a timeout; every third one also node2's weight, which rebuilds the balancer and
        // re-maps the pools of every worker.
        auto text = replace_once(base, "client_idle = \"60s\"", "client_idle = \"" + std::to_string(61 + i) + "s\"");
        if (i % 3 == 0) text = replace_once(text, node2, node2 + "weight = " + std::to_string(1 + i % 2) + "\n");
        gh.rewrite_config(text);
        if (i % 2 == 0) {
            const auto r = admin_call(gh, "POST", "/api/reload");
            ASSERT_EQ(r.status, 200u) << r.body;
        } else {
            const auto done = occurrences(gh.log(), "info reloaded ");
            gh.signal(SIGHUP);
            ASSERT_TRUE(wait_until([&] { return occurrences(gh.log(), "info reloaded ") > done; }, 3s)) << gh.log();
        }
        ASSERT_TRUE(load.wait_for_more(10));
    }
    ASSERT_TRUE(load.wait_for_more(100));
    load.stop();
    std::size_t failed = 0;
    std::map<std::string, std::size_t> seen;
    const auto log = load.log();
    for (const auto& x : log) {
        if (x.status != 200 || !x.error.empty()) {
            if (++failed <= 5) ADD_FAILURE() << describe(x);
        } else {
            ++seen[x.node];
        }
    }
    EXPECT_EQ(failed, 0u) << "of " << log.size() << " requests";
    EXPECT_GE(log.size(), 600u);
    EXPECT_GE(seen["node1"], log.size() / 3);
    EXPECT_GE(seen["node2"], log.size() / 3);
    const auto s = status_of(gh);
    EXPECT_EQ(s.at("reloads").at("succeeded").as_int64(), 50);
    EXPECT_EQ(occurrences(gh.log(), " down: "), 0u) << gh.log();
}

}  // namespace
}  // namespace gatehouse::test
