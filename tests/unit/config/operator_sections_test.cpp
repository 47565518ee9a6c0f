// [admin] and [maintenance]: defaults, the token from a file or the environment, the page read at load, and every
// mistake reported with its key.
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace gatehouse::config;

namespace {

constexpr const char* one_node = "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n";

/// A temporary directory with a gatehouse.toml written into it; removed at the end.
class config_dir {
public:
    config_dir() {
        std::string templ = ::testing::TempDir() + "gatehouse-cfg-XXXXXX";
        if (::mkdtemp(templ.data())) path_ = templ;
    }
    ~config_dir() { std::filesystem::remove_all(path_); }
    std::string write(const std::string& name, const std::string& text) const {
        const auto file = path_ + "/" + name;
        std::ofstream(file) << text;
        return file;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string problems_text(const std::string& text, const std::string& origin = "test.toml") {
    try {
        parse_config(text, origin);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

TEST(OperatorSections, DefaultsAdminOnLoopback9901AndMaintenanceOff) {
    ::unsetenv("GATEHOUSE_ADMIN_TOKEN");
    const auto c = parse_config(one_node);
    EXPECT_TRUE(c.admin.enabled);
    EXPECT_EQ(c.admin.listen.ip, "127.0.0.1");
    EXPECT_EQ(c.admin.listen.port, 9901);
    EXPECT_EQ(c.admin.token_env, "GATEHOUSE_ADMIN_TOKEN");
    EXPECT_TRUE(c.admin.token.empty());
    EXPECT_TRUE(c.maintenance.page.empty());
    EXPECT_EQ(c.maintenance.retry_after, std::chrono::seconds(120));
    EXPECT_TRUE(c.maintenance.state_file.empty());
    EXPECT_TRUE(c.maintenance.bypass_cidrs.empty());
    EXPECT_TRUE(c.maintenance.bypass_cookie_name.empty());
}

TEST(OperatorSections, EmptyListenTurnsTheAdminApiOff) {
    const auto c = parse_config(std::string("[admin]\nlisten = \"\"\n") + one_node);
    EXPECT_FALSE(c.admin.enabled);
}

TEST(OperatorSections, TokenFromTheNamedEnvironmentVariable) {
    ::setenv("GH_TEST_TOKEN", "abc123", 1);
    const auto c = parse_config(std::string("[admin]\ntoken_env = \"GH_TEST_TOKEN\"\n") + one_node);
    EXPECT_EQ(c.admin.token, "abc123");
    EXPECT_EQ(c.admin.token_origin, "environment variable GH_TEST_TOKEN");
    ::setenv("GH_TEST_TOKEN", "two words", 1);
    const auto text = problems_text(std::string("[admin]\ntoken_env = \"GH_TEST_TOKEN\"\n") + one_node);
    EXPECT_NE(text.find("admin.token_env"), std::string::npos) << text;
    EXPECT_EQ(text.find("two words"), std::string::npos) << "the token must not appear in messages: " << text;
    ::unsetenv("GH_TEST_TOKEN");
}

// token_file and page are relative to the configuration file's directory; the token's trailing newline goes.
TEST(OperatorSections, TokenFileAndPageRelativeToTheConfigFile) {
    config_dir dir;
    dir.write("admin.token", "s3cret\n");
    dir.write("maintenance.html", "<p>{{reason}}</p>");
    const auto file = dir.write("gatehouse.toml", std::string("[admin]\ntoken_file = \"admin.token\"\n"
                                                              "[maintenance]\npage = \"maintenance.html\"\n") +
                                                      one_node);
    const auto c = load_config(file);
    EXPECT_EQ(c.admin.token, "s3cret");
    EXPECT_EQ(c.maintenance.page, dir.path() + "/maintenance.html");
    EXPECT_EQ(c.maintenance.page_html, "<p>{{reason}}</p>");
}

TEST(OperatorSections, MissingFilesAndBothTokenSourcesAreReported) {
    // A token file that exists but cannot be read is an error (a missing one is created by serve: admin_token_test).
    auto text = problems_text(std::string("[admin]\ntoken_file = \"/\"\n") + one_node);
    EXPECT_NE(text.find("test.toml:2:14: admin.token_file: cannot read '/'"), std::string::npos) << text;
    text = problems_text(std::string("[admin]\ntoken_env = \"X\"\ntoken_file = \"/t\"\n") + one_node);
    EXPECT_NE(text.find("set either token_env or token_file, not both"), std::string::npos) << text;
    text = problems_text(std::string("[maintenance]\npage = \"/nonexistent/page.html\"\n") + one_node);
    EXPECT_NE(text.find("test.toml:2:8: maintenance.page: cannot read '/nonexistent/page.html'"), std::string::npos)
        << text;
}

// The bypass cookie is a password: a value under 32 characters is refused.
TEST(OperatorSections, BypassCookieValueNeedsAtLeast32Characters) {
    const std::string value31(31, 'k'), value32(32, 'k');
    auto text = problems_text(std::string("[maintenance]\nbypass_cookie = \"op=") + value31 + "\"\n" + one_node);
    EXPECT_NE(text.find("test.toml:2:17: maintenance.bypass_cookie: the cookie's value must be at least 32 characters"),
              std::string::npos)
        << text;
    const auto c = parse_config(std::string("[maintenance]\nbypass_cookie = \"op=") + value32 + "\"\n" + one_node);
    EXPECT_EQ(c.maintenance.bypass_cookie_value, value32);
}

// bypass_cookie_file: the cookie from a file (one line, relative to the configuration); checked like the value;
// both keys, or an unreadable file, are errors.
TEST(OperatorSections, BypassCookieFromAFile) {
    config_dir dir;
    dir.write("bypass", "gh_bypass=" + std::string(40, 'x') + "\n");
    const auto file = dir.write("gatehouse.toml", std::string("[maintenance]\nbypass_cookie_file = \"bypass\"\n") +
                                                      one_node);
    const auto c = load_config(file);
    EXPECT_EQ(c.maintenance.bypass_cookie_name, "gh_bypass");
    EXPECT_EQ(c.maintenance.bypass_cookie_value, std::string(40, 'x'));

    dir.write("short", "gh_bypass=short\n");
    auto text = problems_text(std::string("[maintenance]\nbypass_cookie_file = \"") + dir.path() + "/short\"\n" +
                              one_node);
    EXPECT_NE(text.find("maintenance.bypass_cookie_file: the cookie's value must be at least 32"), std::string::npos)
        << text;
    dir.write("garbage", "no cookie here\n");
    text = problems_text(std::string("[maintenance]\nbypass_cookie_file = \"") + dir.path() + "/garbage\"\n" +
                         one_node);
    EXPECT_NE(text.find("maintenance.bypass_cookie_file: '" + dir.path() + "/garbage' must hold \"name=value\""),
              std::string::npos)
        << text;
    text = problems_text(std::string("[maintenance]\nbypass_cookie_file = \"/nonexistent/bypass\"\n") + one_node);
    EXPECT_NE(text.find("test.toml:2:22: maintenance.bypass_cookie_file: cannot read '/nonexistent/bypass'"),
              std::string::npos)
        << text;
    text = problems_text(std::string("[maintenance]\nbypass_cookie = \"op=") + std::string(32, 'k') +
                         "\"\nbypass_cookie_file = \"x\"\n" + one_node);
    EXPECT_NE(text.find("maintenance.bypass_cookie_file: set either bypass_cookie or bypass_cookie_file, not both"),
              std::string::npos)
        << text;
}

TEST(OperatorSections, MaintenanceValuesAreReadAndChecked) {
    const auto c = parse_config(std::string("[maintenance]\nretry_after = \"30s\"\nstate_file = \"/var/lib/g/s.json\"\n"
                                            "bypass_cidrs = [\"10.0.0.0/8\", \"::1\"]\n"
                                            "bypass_cookie = \"op=k3y-0123456789abcdef0123456789abc\"\n") +
                                one_node);
    EXPECT_EQ(c.maintenance.retry_after, std::chrono::seconds(30));
    EXPECT_EQ(c.maintenance.state_file, "/var/lib/g/s.json");
    ASSERT_EQ(c.maintenance.bypass_cidrs.size(), 2u);
    EXPECT_EQ(c.maintenance.bypass_cookie_name, "op");
    EXPECT_EQ(c.maintenance.bypass_cookie_value, "k3y-0123456789abcdef0123456789abc");
    for (const char* bad : {"\"nocookie\"", "\"=value\"", "\"name=\"", "\"a b=c\"", "\"n=v;x\"",
                            "\"n=0123456789abcdef0123456789abcdef;\""}) {
        const auto text = problems_text(std::string("[maintenance]\nbypass_cookie = ") + bad + "\n" + one_node);
        EXPECT_NE(text.find("maintenance.bypass_cookie: expected \"name=value\""), std::string::npos) << bad << text;
    }
    auto text = problems_text(std::string("[maintenance]\nbypass_cidrs = [\"10.0.0.0/33\"]\n") + one_node);
    EXPECT_NE(text.find("maintenance.bypass_cidrs"), std::string::npos) << text;
    text = problems_text(std::string("[maintenance]\nstatefile = \"x\"\n") + one_node);
    EXPECT_NE(text.find("statefile"), std::string::npos) << text;
    text = problems_text(std::string("[admin]\nlisten = \"localhost\"\n") + one_node);
    EXPECT_NE(text.find("admin.listen"), std::string::npos) << text;
}

}  // namespace
