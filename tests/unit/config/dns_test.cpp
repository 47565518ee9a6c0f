// [[upstream.dns]] and [resolver]: values, defaults, and each bad value reported with its key.
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace gatehouse::config;
using namespace std::chrono_literals;

namespace {

std::string first_problem(const std::string& text) {
    try {
        parse_config(text, "test.toml");
    } catch (const config_error& e) {
        return e.problems().front().to_string();
    }
    ADD_FAILURE() << "expected a config_error for:\n" << text;
    return "";
}

const std::string dns_only = R"([[upstream.dns]]
name = "nocobase-headless.default.svc.cluster.local"
port = 13000
)";

}  // namespace

// [[upstream.dns]] alone is enough; defaults: refresh 5 s, weight 1, plain HTTP; [resolver] uses resolv.conf.
TEST(DnsConfig, Defaults) {
    const auto c = parse_config(dns_only);
    EXPECT_TRUE(c.upstream.nodes.empty());
    ASSERT_EQ(c.upstream.dns.size(), 1u);
    EXPECT_EQ(c.upstream.dns[0].name, "nocobase-headless.default.svc.cluster.local");
    EXPECT_EQ(c.upstream.dns[0].port, 13000);
    EXPECT_EQ(c.upstream.dns[0].refresh, 5s);
    EXPECT_EQ(c.upstream.dns[0].weight, 1u);
    EXPECT_FALSE(c.upstream.dns[0].tls);
    EXPECT_TRUE(c.resolver.servers.empty());
    EXPECT_EQ(c.resolver.timeout, 2s);
    EXPECT_EQ(c.resolver.refresh, 5s);
}

TEST(DnsConfig, Values) {
    const auto c = parse_config(dns_only + R"(refresh = "30s"
weight = 4
tls = true
[resolver]
servers = ["127.0.0.1:5353", "[::1]:53"]
timeout = "500ms"
refresh = "10s"
)");
    EXPECT_EQ(c.upstream.dns[0].refresh, 30s);
    EXPECT_EQ(c.upstream.dns[0].weight, 4u);
    EXPECT_TRUE(c.upstream.dns[0].tls);
    ASSERT_EQ(c.resolver.servers.size(), 2u);
    EXPECT_EQ(c.resolver.servers[0].ip, "127.0.0.1");
    EXPECT_EQ(c.resolver.servers[0].port, 5353);
    EXPECT_EQ(c.resolver.servers[1].ip, "::1");
    EXPECT_EQ(c.resolver.timeout, 500ms);
    EXPECT_EQ(c.resolver.refresh, 10s);
}

// Each bad value is reported with its file, line and key.
TEST(DnsConfig, BadValuesNameTheKey) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"[[upstream.dns]]\nname = \"bad name!\"\nport = 13000\n", "test.toml:2:8: upstream.dns[0].name: invalid host name"},
        {"[[upstream.dns]]\nname = \"10.0.0.1\"\nport = 13000\n", "upstream.dns[0].name: '10.0.0.1' is an IP address"},
        {"[[upstream.dns]]\nname = \"nodes\"\n", "upstream.dns[0].port: is required"},
        {dns_only + "refresh = \"100ms\"\n", "upstream.dns[0].refresh: must be between 1s and 1h"},
        {dns_only + "weight = 0\n", "upstream.dns[0].weight"},
        {dns_only + "colour = 1\n", "colour"},
        {dns_only + dns_only, "upstream.dns[1].name: duplicate name"},
        {dns_only + "[resolver]\nservers = [\"127.0.0.1\"]\n", "resolver.servers[0]"},
        {dns_only + "[resolver]\ntimeout = \"1m\"\n", "resolver.timeout: must be at most 30s"},
        {dns_only + "[resolver]\nrefresh = \"2h\"\n", "resolver.refresh: must be between 1s and 1h"},
        {dns_only + "[resolver]\nnameserver = \"x\"\n", "nameserver"},
    };
    for (const auto& [text, expected] : cases) {
        const auto problem = first_problem(text);
        EXPECT_NE(problem.find(expected), std::string::npos) << problem << "\nexpected: " << expected;
    }
}
