// The compose cluster without containers: three local upstreams in place of nocobase-1..3 and gatehouse running
// deploy/compose/gatehouse.toml, with only the addresses (node names, listen and admin ports) and the state paths
// replaced. The seed's first start (one node up, the others still installing) and maintenance work as README says.
#include "integration/admin_client.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace gatehouse::test {
namespace {

const std::string source_dir = GATEHOUSE_SOURCE_DIR;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Replaces exactly one occurrence of `from`: the test fails when the compose config no longer has it.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << "deploy/compose/gatehouse.toml has no " << from;
    ASSERT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
    text.replace(at, from.size(), to);
}

/// `s` in double quotes (appended piece by piece: GCC 12 misreports "\"" + s + "\"" under -Wrestrict).
std::string quoted(const std::string& s) {
    std::string q = "\"";
    q += s;
    q += '"';
    return q;
}

std::string node_of(const http_response& r) {
    for (const auto& [name, value] : r.headers)
        if (iequal(name, "X-Node")) return value;
    return {};
}

class ComposeTopology : public GatehouseTest {};

// First start: nocobase-1 runs, nocobase-2 and -3 still install (503 APP_COMMANDING): every request goes to
// nocobase-1. Once they run, gatehouse's health checks bring them in: all three answer. Maintenance then serves the
// shipped page with 503, while /healthz on the metrics listener stays 200.
TEST_F(ComposeTopology, FirstStartOneNodeThenTheOthersThenMaintenance) {
    std::string toml = read_text(source_dir + "/deploy/compose/gatehouse.toml");
    std::vector<test_upstream*> nodes;
    for (int i = 1; i <= 3; ++i) {
        auto& n = add_upstream("nocobase-" + std::to_string(i));
        if (i > 1) n.set_health(health_mode::starting);
        nodes.push_back(&n);
        replace_once(toml, quoted("nocobase-" + std::to_string(i) + ":13000"), quoted(n.address()));
    }
    const auto port = reserve_port(), admin_port = reserve_port(), metrics_port = reserve_port();
    replace_once(toml, quoted("0.0.0.0:8080"), quoted("127.0.0.1:" + std::to_string(port)));
    replace_once(toml, quoted("127.0.0.1:9901"), quoted("127.0.0.1:" + std::to_string(admin_port)));
    replace_once(toml, quoted("0.0.0.0:9902"), quoted("127.0.0.1:" + std::to_string(metrics_port)));
    const std::string dir = scratch_dir();
    replace_once(toml, quoted("/var/lib/gatehouse/admin.token"), quoted(dir + "/admin.token"));
    replace_once(toml, quoted("/var/lib/gatehouse/state.json"), quoted(dir + "/state.json"));
    replace_once(toml, "page = " + quoted("maintenance.html"), "page = " + quoted(source_dir + "/conf/maintenance.html"));
    gatehouses_.push_back(std::make_unique<gatehouse_process>(toml, port, admin_port, 20s));
    auto& g = *gatehouses_.back();

    for (int i = 0; i < 6; ++i) {
        const auto r = get(port, "/api/app:getInfo");
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(node_of(r), "nocobase-1");
    }
    nodes[1]->set_health(health_mode::ok);
    nodes[2]->set_health(health_mode::ok);
    std::set<std::string> answered;
    EXPECT_TRUE(wait_until([&] {
        answered.insert(node_of(get(port, "/api/app:getInfo")));
        return answered.size() == 3;
    }, 30s, 50ms)) << answered.size() << " node(s) answered\n" << g.log();

    std::string token = read_text(dir + "/admin.token");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    ASSERT_FALSE(token.empty());
    ASSERT_EQ(admin_call(g, "PUT", "/api/maintenance", R"({"reason": "Upgrading"})", token).status, 200u);
    const auto page = get(port, "/admin", "Accept: text/html\r\n");
    EXPECT_EQ(page.status, 503u);
    EXPECT_NE(page.body.find("Upgrading"), std::string::npos) << page.body;
    EXPECT_EQ(get(metrics_port, "/healthz").status, 200u);
}

}  // namespace
}  // namespace gatehouse::test
