// Nodes from DNS: a real DNS server on 127.0.0.1 whose answers change under steady load. Nodes are added, removed
// and re-addressed without a failed request; a removed or old address gets no request once the answer changed.
#include "admin_client.hpp"

#include "support/dns_server.hpp"

#include <boost/json/parse.hpp>

#include <csignal>
#include <fstream>

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

namespace json = boost::json;

constexpr const char* discovered = "nodes.gatehouse.test";

class Dns : public GatehouseTest {
protected:
    /// A node on `ip` and `port` (0: any) of the loopback network.
    test_upstream& node_at(std::string name, std::string ip, std::uint16_t port) {
        return add_upstream(upstream_options{.name = std::move(name), .port = port, .ip = std::move(ip)});
    }

    /// gatehouse with the static node "app" at `static_address` and the nodes of `discovered` on `dns_port`, every
    /// name looked up at `dns_` each second; checks every 100 ms, a node is up after one pass.
    gatehouse_process& start(const std::string& static_address, std::uint16_t dns_port,
                             const std::string& state_file = "") {
        gatehouse_options o;
        o.nodes.push_back({"app", static_address});
        if (!state_file.empty()) o.maintenance = {{"state_file", "\"" + state_file + "\""}};
        o.health_check = {{"interval", "\"100ms\""}, {"rise", "1"}, {"fall", "1"}};
        o.admin_token = std::string(admin_token);
        const std::string token = scratch_dir() + "/admin.token";
        std::ofstream(token) << admin_token << "\n";
        const auto port = reserve_port(), admin_port = reserve_port();
        const std::string toml = make_config(o, port, admin_port, token) + "\n[[upstream.dns]]\nname = \"" +
                                 discovered + "\"\nport = " + std::to_string(dns_port) + "\nrefresh = \"1s\"\n" +
                                 "\n[resolver]\nservers = [\"" + dns_.address() + "\"]\nrefresh = \"1s\"\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port));
        return *gatehouses_.back();
    }

    static json::object status(const gatehouse_process& g) {
        json::error_code ec;
        auto v = json::parse(admin_call(g, "GET", "/api/status").body, ec);
        return ec || !v.is_object() ? json::object{} : v.get_object();
    }
    /// "name address health" of every node, in order.
    static std::vector<std::string> nodes(const gatehouse_process& g) {
        std::vector<std::string> out;
        const auto s = status(g);
        if (!s.contains("nodes")) return out;
        for (const auto& n : s.at("nodes").as_array())
            out.push_back(std::string(n.at("name").as_string()) + " " + std::string(n.at("address").as_string()) +
                          " " + std::string(n.at("health").as_string()));
        return out;
    }
    static bool has_node(const gatehouse_process& g, const std::string& text) {
        const auto all = nodes(g);
        return std::any_of(all.begin(), all.end(), [&](const std::string& n) { return n.find(text) != std::string::npos; });
    }

    dns_server dns_;
};

// Added, removed and re-addressed under load: every request answered 200, nothing sent to a removed address
// once the status shows it gone; a failed lookup keeps the nodes.
TEST_F(Dns, NodesFollowTheAnswerUnderLoad) {
    auto& app = node_at("app", "127.0.0.1", 0);
    auto& a = node_at("a", "127.0.0.2", 0);
    const auto dns_port = a.port();
    auto& b = node_at("b", "127.0.0.3", dns_port);
    auto& c = node_at("c", "127.0.0.4", dns_port);
    dns_.set(discovered, {"127.0.0.2", "127.0.0.3"});
    auto& gh = start(app.address(), dns_port);
    const std::string name = discovered;
    ASSERT_TRUE(wait_until([&] { return has_node(gh, name + "@127.0.0.3 127.0.0.3:" + std::to_string(dns_port) + " up"); }, 10s))
        << gh.log();

    recorded_load load(gh.port(), 2);
    ASSERT_TRUE(load.wait_for_more(50));
    // Added: no traffic while its checks fail, then once a check passed.
    c.set_health(health_mode::error500);
    dns_.set(discovered, {"127.0.0.2", "127.0.0.3", "127.0.0.4"});
    ASSERT_TRUE(wait_until([&] { return c.health_checks() >= 2; }, 10s)) << gh.log();
    ASSERT_TRUE(load.wait_for_more(50));
    EXPECT_EQ(c.requests(), 0u) << "a new node took traffic before a passing check";
    c.set_health(health_mode::ok);
    EXPECT_TRUE(wait_until([&] { return c.requests() > 0; }, 10s)) << gh.log();
    // Removed: gone from the status, then no request reaches it.
    dns_.set(discovered, {"127.0.0.2", "127.0.0.4"});
    ASSERT_TRUE(wait_until([&] { return !has_node(gh, "@127.0.0.3"); }, 10s)) << gh.log();
    ASSERT_TRUE(load.wait_for_more(20));  // requests already on their way there finish
    const auto b_requests = b.requests();
    // Re-addressed: the node at .2 restarts at .5 (a new container).
    auto& moved = node_at("a-moved", "127.0.0.5", dns_port);
    dns_.set(discovered, {"127.0.0.4", "127.0.0.5"});
    EXPECT_TRUE(wait_until([&] { return moved.requests() > 0 && !has_node(gh, "@127.0.0.2"); }, 10s)) << gh.log();
    ASSERT_TRUE(load.wait_for_more(20));
    const auto a_requests = a.requests();
    // A failed lookup keeps the last good answer.
    dns_.failing(true);
    const auto failed = [&] {
        const auto s = status(gh);
        if (!s.contains("dns")) return false;
        for (const auto& d : s.at("dns").as_array())
            if (d.at("name").as_string() == name && d.at("lookups_failed_total").as_int64() > 0) return true;
        return false;
    };
    EXPECT_TRUE(wait_until(failed, 10s)) << gh.log();
    ASSERT_TRUE(load.wait_for_more(100));
    load.stop();

    EXPECT_EQ(b.requests(), b_requests) << "a removed address got requests";
    EXPECT_EQ(a.requests(), a_requests) << "the old address of a re-addressed node got requests";
    EXPECT_GT(app.requests(), 0u);
    EXPECT_EQ(nodes(gh).size(), 3u) << "the failed lookups kept the nodes";
    std::size_t failures = 0;
    for (const auto& x : load.log()) {
        if (x.status == 200) continue;
        ++failures;
        ADD_FAILURE() << describe(x);
    }
    EXPECT_EQ(failures, 0u);
    const auto metrics = admin_call(gh, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("gatehouse_dns_nodes{name=\"nodes.gatehouse.test\"} 2"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("gatehouse_dns_lookups_total{name=\"nodes.gatehouse.test\",result=\"failure\"}"),
              std::string::npos);
}

// A disable of a DNS node saved in the state file survives a restart: the file is read before the first answer,
// and the decision waits for it instead of being dropped as a node no longer configured.
TEST_F(Dns, SavedDisableOfADnsNodeSurvivesARestart) {
    auto& app = node_at("app", "127.0.0.1", 0);
    auto& a = node_at("a", "127.0.0.2", 0);
    dns_.set(discovered, {"127.0.0.2"});
    const std::string state_file = scratch_dir() + "/state/gatehouse.json";
    auto& first = start(app.address(), a.port(), state_file);
    const std::string node = std::string(discovered) + "@127.0.0.2";
    ASSERT_TRUE(wait_until([&] { return has_node(first, node + " 127.0.0.2"); }, 10s)) << first.log();
    ASSERT_EQ(admin_call(first, "POST", "/api/nodes/" + node + "/disable").status, 200u) << first.log();
    first.signal(SIGTERM);
    ASSERT_EQ(first.wait_exit(10s), 0);

    gatehouse_process second(first.config_text(), first.port(), first.admin_port());
    const auto admin_of_node = [&]() -> std::string {
        const auto s = status(second);
        if (!s.contains("nodes")) return "";
        for (const auto& n : s.at("nodes").as_array())
            if (n.at("name").as_string() == node) return std::string(n.at("admin").as_string());
        return "";
    };
    ASSERT_TRUE(wait_until([&] { return !admin_of_node().empty(); }, 10s)) << second.log();
    EXPECT_EQ(admin_of_node(), "disabled") << second.log();
    EXPECT_EQ(second.log().find("ignored: no such node is configured"), std::string::npos) << second.log();
    const auto before = a.requests();
    for (int i = 0; i < 10; ++i) EXPECT_EQ(get(second.port(), "/").status, 200u);
    EXPECT_EQ(a.requests(), before) << "the disabled DNS node got requests after the restart";
}

/// This machine's host name and its first IPv4 address as the system resolver gives it ("" when it has none).
std::pair<std::string, std::string> own_host() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return {};
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* list = nullptr;
    if (::getaddrinfo(host, nullptr, &hints, &list) != 0 || !list) return {host, ""};
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(list->ai_addr)->sin_addr, ip, sizeof ip);
    ::freeaddrinfo(list);
    return {host, ip};
}

// A static node named by host (c-ares never sends "localhost" to a server, so the machine's own name, resolved at
// load by the system): when the name moves (a restarted container), requests follow without a failure and the
// old address gets none, a reload included.
TEST_F(Dns, StaticHostNameIsLookedUpAgain) {
    const auto [host, ip] = own_host();
    if (ip.rfind("127.", 0) != 0) GTEST_SKIP() << "the host name '" << host << "' is not on loopback (" << ip << ")";
    auto& old_app = node_at("app-old", ip, 0);
    auto& new_app = node_at("app-new", "127.0.0.6", old_app.port());
    auto& a = node_at("a", "127.0.0.2", 0);
    dns_.set(host, {ip});
    dns_.set(discovered, {"127.0.0.2"});
    auto& gh = start(host + ":" + std::to_string(old_app.port()), a.port());
    ASSERT_TRUE(wait_until([&] { return has_node(gh, "app " + host + ":" + std::to_string(old_app.port()) + " up"); }, 10s))
        << gh.log();
    recorded_load load(gh.port(), 2);
    ASSERT_TRUE(load.wait_for_more(50));
    dns_.set(host, {"127.0.0.6"});
    EXPECT_TRUE(wait_until([&] { return new_app.requests() > 0; }, 10s)) << gh.log();
    ASSERT_TRUE(load.wait_for_more(20));  // requests already on their way to the old address finish
    const auto old_requests = old_app.requests();
    // A reload resolves the name at load again (the old address) but keeps the last answer of a name that stays.
    EXPECT_EQ(admin_call(gh, "POST", "/api/reload").status, 200u);
    ASSERT_TRUE(load.wait_for_more(100));
    load.stop();
    EXPECT_EQ(old_app.requests(), old_requests) << "the old address got requests";
    for (const auto& x : load.log())
        EXPECT_EQ(x.status, 200u) << describe(x);
}

}  // namespace
}  // namespace gatehouse::test
