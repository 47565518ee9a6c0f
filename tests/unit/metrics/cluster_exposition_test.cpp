// [cluster]'s families: the link to Redis, its failures and the states applied from other replicas; none without it.
#include <gatehouse/metrics/exposition.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.rfind(line + "\n", 0) == 0 || text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(ClusterExposition, LinkFailuresAndUpdates) {
    metrics::scrape s;
    s.cluster = {true, false, 7, 3};
    const auto text = metrics::render(s);
    EXPECT_TRUE(has_line(text, "# TYPE gatehouse_cluster_redis_up gauge")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_cluster_redis_up 0")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_cluster_redis_failures_total 7")) << text;
    EXPECT_TRUE(has_line(text, "gatehouse_cluster_state_updates_total 3")) << text;
    s.cluster.redis_up = true;
    EXPECT_TRUE(has_line(metrics::render(s), "gatehouse_cluster_redis_up 1"));
}

TEST(ClusterExposition, NoFamiliesWithoutCluster) {
    EXPECT_EQ(metrics::render(metrics::scrape{}).find("gatehouse_cluster_"), std::string::npos);
}
