// [cluster]: absent means alone; redis_url parsed (host, port, credentials, database); bad values refused by key.
#include "config_test_util.hpp"

using namespace gatehouse::config;
using gatehouse::config::test::node;
using gatehouse::config::test::only_problem;

TEST(ClusterKeys, WithoutTheSectionGatehouseRunsAlone) {
    EXPECT_FALSE(parse_config(node).cluster.enabled);
}

TEST(ClusterKeys, RedisUrlAndEachKeyAreRead) {
    const auto c = parse_config(std::string(node) +
                                "[cluster]\nredis_url = \"redis://app:s3cret@redis.internal:6380/3\"\nkey = \"gh:state\"\n"
                                "channel = \"gh:events\"\nname = \"edge-a\"\ntimeout = \"500ms\"\nretry_max = \"10s\"\n")
                       .cluster;
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.redis_host, "redis.internal");
    EXPECT_EQ(c.redis_port, 6380);
    EXPECT_EQ(c.redis_user, "app");
    EXPECT_EQ(c.redis_password, "s3cret");
    EXPECT_EQ(c.redis_db, 3u);
    EXPECT_EQ(c.key, "gh:state");
    EXPECT_EQ(c.channel, "gh:events");
    EXPECT_EQ(c.name, "edge-a");
    EXPECT_EQ(c.timeout.count(), 500);
    EXPECT_EQ(c.retry_max.count(), 10000);
}

TEST(ClusterKeys, DefaultsArePort6379Database0AChannelNamedAfterTheKeyAndAHostPortName) {
    const auto c = parse_config(std::string(node) + "[proxy]\nlisten = [\"127.0.0.1:8181\"]\n"
                                                    "[cluster]\nredis_url = \"redis://[::1]\"\n")
                       .cluster;
    EXPECT_EQ(c.redis_host, "::1");
    EXPECT_EQ(c.redis_port, 6379);
    EXPECT_EQ(c.redis_db, 0u);
    EXPECT_TRUE(c.redis_password.empty());
    EXPECT_EQ(c.channel, c.key + ":changes");
    EXPECT_TRUE(c.name.ends_with(":8181")) << c.name;
}

TEST(ClusterKeys, PasswordWithoutUserIsRead) {
    const auto c = parse_config(std::string(node) + "[cluster]\nredis_url = \"redis://:pw@127.0.0.1\"\n").cluster;
    EXPECT_TRUE(c.redis_user.empty());
    EXPECT_EQ(c.redis_password, "pw");
}

TEST(ClusterKeys, BadRedisUrlsAreRefusedNamingTheKey) {
    for (const char* url : {"http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:0", "redis://127.0.0.1:99999",
                            "redis://127.0.0.1:6379/x", "redis://[::1", "redis://user@host"}) {
        const auto p = only_problem(std::string(node) + "[cluster]\nredis_url = \"" + url + "\"\n");
        EXPECT_EQ(p.key, "cluster.redis_url") << url;
    }
}

TEST(ClusterKeys, SectionWithoutRedisUrlIsRefused) {
    const auto p = only_problem(std::string(node) + "[cluster]\nkey = \"k\"\n");
    EXPECT_EQ(p.key, "cluster.redis_url");
}

TEST(ClusterKeys, EmptyKeyAndZeroTimeoutAreRefused) {
    EXPECT_EQ(only_problem(std::string(node) + "[cluster]\nredis_url = \"redis://h\"\nkey = \"\"\n").key, "cluster.key");
    EXPECT_EQ(only_problem(std::string(node) + "[cluster]\nredis_url = \"redis://h\"\ntimeout = \"0s\"\n").key,
              "cluster.timeout");
}
