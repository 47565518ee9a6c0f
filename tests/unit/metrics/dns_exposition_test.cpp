// Lookups by name and result, and the nodes each [[upstream.dns]] name gives; no family without any name.
#include <gatehouse/metrics/exposition.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(DnsExposition, LookupsAndNodesByName) {
    metrics::scrape s;
    s.dns.push_back({"nodes.example", true, 12, 3, 4});
    s.dns.push_back({"db.example", false, 5, 0, 0});  // a static node's host: lookups only
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, "gatehouse_dns_lookups_total{name=\"nodes.example\",result=\"success\"} 12")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_dns_lookups_total{name=\"nodes.example\",result=\"failure\"} 3")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_dns_lookups_total{name=\"db.example\",result=\"success\"} 5")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_dns_nodes{name=\"nodes.example\"} 4")) << text;
    EXPECT_EQ(text.find("gatehouse_dns_nodes{name=\"db.example\"}"), std::string::npos) << text;
}

TEST(DnsExposition, NoFamiliesWithoutNames) {
    EXPECT_EQ(metrics::render(metrics::scrape{}).find("gatehouse_dns_"), std::string::npos);
}
