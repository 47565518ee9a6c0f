// The slow-client keys: proxy.request_buffering, timeouts.client_body, limits.request_buffer_memory,
// limits.request_buffer_dir, limits.max_connections_per_client (defaults, values, problems).
#include "config_test_util.hpp"

#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

using namespace gatehouse::config;

using namespace gatehouse::config::test;

TEST(SlowClientConfig, Defaults) {
    const auto c = parse_config(node);
    EXPECT_TRUE(c.proxy.request_buffering);
    EXPECT_EQ(c.timeouts.client_body, std::chrono::seconds(300));
    EXPECT_EQ(c.limits.request_buffer_memory, 64u * 1024);
    EXPECT_FALSE(c.limits.request_buffer_dir.empty());
    EXPECT_EQ(c.limits.request_buffer_dir.front(), '/');
    EXPECT_EQ(c.limits.max_connections_per_client, 0u);
}

TEST(SlowClientConfig, ValuesAreRead) {
    const auto c = parse_config(std::string("[proxy]\nrequest_buffering = false\n[timeouts]\nclient_body = \"0\"\n"
                                            "[limits]\nrequest_buffer_memory = \"1MiB\"\nrequest_buffer_dir = "
                                            "\"/var/tmp\"\nmax_connections_per_client = 20\n") +
                                node);
    EXPECT_FALSE(c.proxy.request_buffering);
    EXPECT_EQ(c.timeouts.client_body.count(), 0);
    EXPECT_EQ(c.limits.request_buffer_memory, 1024u * 1024);
    EXPECT_EQ(c.limits.request_buffer_dir, "/var/tmp");
    EXPECT_EQ(c.limits.max_connections_per_client, 20u);
}

TEST(SlowClientConfig, BufferDirDefaultsToTmpdir) {
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", "/some/tmp", 1);
    EXPECT_EQ(parse_config(node).limits.request_buffer_dir, "/some/tmp");
    ::setenv("TMPDIR", "relative", 1);  // not absolute: ignored
    EXPECT_EQ(parse_config(node).limits.request_buffer_dir, "/tmp");
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
}

TEST(SlowClientConfig, UnwritableBufferDirIsWarnedAbout) {
    const auto warned = [](const config& c) {
        for (const auto& w : config_warnings(c))
            if (w.find("limits.request_buffer_dir") != std::string::npos) return true;
        return false;
    };
    EXPECT_FALSE(warned(parse_config(std::string("[limits]\nrequest_buffer_dir = \"/tmp\"\n") + node)));
    EXPECT_TRUE(warned(parse_config(std::string("[limits]\nrequest_buffer_dir = \"/nonexistent-gatehouse\"\n") + node)));
    // Not buffering: the directory is not used.
    EXPECT_FALSE(warned(parse_config(std::string("[proxy]\nrequest_buffering = false\n[limits]\n"
                                                 "request_buffer_dir = \"/nonexistent-gatehouse\"\n") + node)));
}

TEST(SlowClientConfig, BadValuesAreProblems) {
    auto p = only_problem(std::string("[limits]\nrequest_buffer_dir = \"tmp\"\n") + node);
    EXPECT_EQ(p.key, "limits.request_buffer_dir");
    EXPECT_EQ(p.line, 2u);
    p = only_problem(std::string("[limits]\nrequest_buffer_memory = \"1GiB\"\n") + node);
    EXPECT_EQ(p.key, "limits.request_buffer_memory");
    p = only_problem(std::string("[limits]\nmax_connections_per_client = -1\n") + node);
    EXPECT_EQ(p.key, "limits.max_connections_per_client");
    p = only_problem(std::string("[proxy]\nrequest_buffering = \"yes\"\n") + node);
    EXPECT_EQ(p.key, "proxy.request_buffering");
    p = only_problem(std::string("[timeouts]\nclient_body = \"soon\"\n") + node);
    EXPECT_EQ(p.key, "timeouts.client_body");
}
