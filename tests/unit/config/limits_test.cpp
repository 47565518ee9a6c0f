// [limits] max_connections: default, value, range.
#include "config_test_util.hpp"

#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse::config;

using namespace gatehouse::config::test;

TEST(LimitsConfig, MaxConnectionsDefaultsToTenThousandPerWorker) {
    EXPECT_EQ(parse_config(node).limits.max_connections, 10000u);
}

TEST(LimitsConfig, MaxConnectionsIsRead) {
    EXPECT_EQ(parse_config(std::string("[limits]\nmax_connections = 250\n") + node).limits.max_connections, 250u);
    EXPECT_EQ(parse_config(std::string("[limits]\nmax_connections = 0\n") + node).limits.max_connections, 0u);
}

TEST(LimitsConfig, MaxConnectionsOutOfRangeOrWrongTypeIsAProblem) {
    auto p = only_problem(std::string("[limits]\nmax_connections = -1\n") + node);
    EXPECT_EQ(p.key, "limits.max_connections");
    EXPECT_EQ(p.line, 2u);
    EXPECT_EQ(p.message, "must be between 0 and 1000000, got -1");
    p = only_problem(std::string("[limits]\nmax_connections = \"100\"\n") + node);
    EXPECT_EQ(p.key, "limits.max_connections");
}
