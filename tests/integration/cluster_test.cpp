// [cluster]: replicas that share the operator state through a real redis-server: a switch on one reaches the others
// within 2 s, a late replica reads the state, and with Redis stopped each keeps its state, says so, and reconciles
// (the last write wins) when Redis returns.
#include "admin_client.hpp"
#include "redis_server.hpp"

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace gatehouse::test {
namespace {
namespace json = boost::json;

class Cluster : public GatehouseTest {
protected:
    void SetUp() override {
        add_upstream("node1");
        add_upstream("node2");
    }

    /// A replica sharing its state through `redis` (its [cluster] name is "replica-<letter>").
    gatehouse_process& start_replica(const redis_server& redis, char letter) {
        gatehouse_options o;
        for (const auto& u : upstreams_) o.nodes.push_back({u->name(), u->address()});
        o.admin_token = std::string(admin_token);
        const std::string token = scratch_dir() + "/admin.token";
        std::ofstream(token) << admin_token << "\n";
        const auto port = reserve_port(), admin_port = reserve_port();
        const std::string toml = make_config(o, port, admin_port, token) + "\n[cluster]\nredis_url = \"" +
                                 redis.url(3) + "\"\nname = \"replica-" + letter + "\"\nretry_max = \"1s\"\n";
        gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port));
        return *gatehouses_.back();
    }

    static json::object status(const gatehouse_process& g) {
        const auto r = admin_call(g, "GET", "/api/status");
        json::error_code ec;
        auto v = json::parse(r.body, ec);
        if (ec || !v.is_object()) return {};
        return v.get_object();
    }
    static bool maintenance_on(const gatehouse_process& g) {
        const auto s = status(g);
        return s.contains("maintenance") && s.at("maintenance").at("enabled").as_bool();
    }
    static std::string admin_of(const gatehouse_process& g, const std::string& node) {
        const auto s = status(g);
        if (!s.contains("nodes")) return {};
        for (const auto& n : s.at("nodes").as_array())
            if (n.at("name").as_string() == node) return std::string(n.at("admin").as_string());
        return {};
    }
    static std::string connection(const gatehouse_process& g) {
        const auto s = status(g);
        return s.contains("cluster") ? std::string(s.at("cluster").at("connection").as_string()) : std::string();
    }
    static std::string last_writer(const gatehouse_process& g) {
        const auto s = status(g);
        return s.contains("cluster") ? std::string(s.at("cluster").at("last_write").at("writer").as_string())
                                     : std::string();
    }
    /// The value of the unlabelled metric `name`, -1 when absent.
    static double metric(const gatehouse_process& g, const std::string& name) {
        std::istringstream in(admin_call(g, "GET", "/metrics").body);
        for (std::string line; std::getline(in, line);)
            if (line.starts_with(name + " ")) return std::strtod(line.c_str() + name.size() + 1, nullptr);
        return -1;
    }
};

// A maintenance switch made on replica A is seen on B (status and visitors' 503) within 2 s, a drain made on B is
// seen on A, and a replica started afterwards serves the shared state from its first request.
TEST_F(Cluster, SwitchOnOneReplicaReachesTheOthersWithinTwoSecondsAndALateReplicaReadsIt) {
    redis_server redis;
    auto& a = start_replica(redis, 'a');
    auto& b = start_replica(redis, 'b');
    ASSERT_EQ(connection(a), "connected") << a.log();
    ASSERT_EQ(connection(b), "connected") << b.log();
    ASSERT_EQ(get(b.port(), "/").status, 200u);

    const auto switched = std::chrono::steady_clock::now();
    ASSERT_EQ(admin_call(a, "PUT", "/api/maintenance", R"({"reason":"upgrade to 2.2"})").status, 200u);
    ASSERT_TRUE(wait_until([&] { return maintenance_on(b); }, 2s, 2ms)) << b.log();
    const auto seen = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - switched);
    EXPECT_LT(seen, 2s);
    RecordProperty("switch_seen_on_other_replica_ms", static_cast<int>(seen.count()));
    std::cout << "maintenance switched on replica a: seen on replica b after " << seen.count()
              << " ms (including the admin call)\n";
    EXPECT_EQ(get(b.port(), "/").status, 503u);
    EXPECT_EQ(last_writer(b), "replica-a");
    EXPECT_TRUE(b.wait_for_log("cluster: operator state written by replica-a", 1s)) << b.log();

    ASSERT_EQ(admin_call(b, "POST", "/api/nodes/node2/drain").status, 200u);
    EXPECT_TRUE(wait_until([&] { return admin_of(a, "node2") == "draining"; }, 2s)) << a.log();
    EXPECT_TRUE(maintenance_on(a));  // B's change carried A's maintenance along

    auto& c = start_replica(redis, 'c');  // ready: the state was read before it served anyone
    EXPECT_TRUE(maintenance_on(c)) << c.log();
    EXPECT_EQ(admin_of(c, "node2"), "draining");
    EXPECT_EQ(get(c.port(), "/").status, 503u);
    EXPECT_EQ(metric(c, "gatehouse_cluster_redis_up"), 1);
}

// Redis stopped: each replica keeps serving its last state and reports the outage (status, metric, log); a change
// made meanwhile stays local; once Redis is back the replicas reconcile on the last write.
TEST_F(Cluster, RedisDownKeepsTheLastStateAndTheReplicasReconcileWhenItReturns) {
    redis_server redis;
    auto& a = start_replica(redis, 'a');
    auto& b = start_replica(redis, 'b');
    ASSERT_EQ(admin_call(a, "PUT", "/api/maintenance", R"({"reason":"upgrade"})").status, 200u);
    ASSERT_TRUE(wait_until([&] { return maintenance_on(b); }, 2s)) << b.log();

    redis.stop();
    for (auto* g : {&a, &b}) {
        EXPECT_TRUE(wait_until([&] { return connection(*g) == "unreachable"; }, 5s)) << g->log();
        EXPECT_EQ(metric(*g, "gatehouse_cluster_redis_up"), 0);
        EXPECT_GE(metric(*g, "gatehouse_cluster_redis_failures_total"), 1);
        EXPECT_TRUE(g->wait_for_log("serving with the last known operator state", 1s)) << g->log();
        EXPECT_TRUE(maintenance_on(*g));
        EXPECT_EQ(get(g->port(), "/").status, 503u);
    }

    // A change on B while Redis is away applies on B alone, for now.
    ASSERT_EQ(admin_call(b, "DELETE", "/api/maintenance").status, 200u);
    EXPECT_EQ(get(b.port(), "/").status, 200u);
    EXPECT_TRUE(maintenance_on(a));

    redis.start();  // same port, empty: both replicas offer their state; B's is the later write
    for (auto* g : {&a, &b}) {
        EXPECT_TRUE(wait_until([&] { return connection(*g) == "connected"; }, 10s)) << g->log();
        EXPECT_TRUE(wait_until([&] { return !maintenance_on(*g); }, 3s)) << g->log();
        EXPECT_EQ(last_writer(*g), "replica-b");
        EXPECT_EQ(metric(*g, "gatehouse_cluster_redis_up"), 1);
    }
    EXPECT_EQ(get(a.port(), "/").status, 200u);
    EXPECT_TRUE(a.wait_for_log("reconciling the operator state", 1s)) << a.log();
}

// A replica whose Redis is unreachable when it starts serves with its local state at once, reports the outage, and
// joins the others once Redis answers.
TEST_F(Cluster, ReplicaStartsWithoutRedisAndJoinsWhenItAnswers) {
    redis_server redis;
    redis.stop();  // its port, with nothing listening
    const auto started = std::chrono::steady_clock::now();
    auto& a = start_replica(redis, 'a');
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(connection(a), "unreachable") << a.log();
    EXPECT_EQ(get(a.port(), "/").status, 200u);
    EXPECT_TRUE(a.wait_for_log("serving with the last known operator state", 1s)) << a.log();

    redis.start();
    auto& b = start_replica(redis, 'b');
    ASSERT_EQ(admin_call(b, "PUT", "/api/maintenance", R"({"reason":"upgrade"})").status, 200u);
    EXPECT_TRUE(wait_until([&] { return maintenance_on(a); }, 5s)) << a.log();
    EXPECT_EQ(connection(a), "connected");
}

}  // namespace
}  // namespace gatehouse::test
