// admin.allow_no_token, the token rule (a token unless opted out) and the token file created at first start.
#include <gatehouse/config/admin_token.hpp>
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace gatehouse::config;

namespace {

constexpr const char* one_node = "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n";

struct temp_dir {
    std::string path;
    temp_dir() {
        std::string templ = ::testing::TempDir() + "gatehouse-token-XXXXXX";
        if (::mkdtemp(templ.data())) path = templ;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

std::string read(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(AdminToken, NoTokenWithoutOptOutIsMissingAndTheProblemNamesTheKeys) {
    const auto c = parse_config(std::string("[admin]\ntoken_env = \"\"\n") + one_node, "g.toml");
    EXPECT_FALSE(c.admin.allow_no_token);
    EXPECT_EQ(admin_token_status_of(c.admin), admin_token_status::missing);
    const auto p = admin_token_problem(c, false);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->key, "admin");
    const auto text = p->to_string();
    EXPECT_EQ(text.rfind("g.toml: admin: no admin token", 0), 0u) << text;
    EXPECT_NE(text.find("admin.token_file"), std::string::npos) << text;
    EXPECT_NE(text.find("admin.allow_no_token = true"), std::string::npos) << text;
}

TEST(AdminToken, OptOutOrNoAdminApiNeedsNoToken) {
    auto c = parse_config(std::string("[admin]\ntoken_env = \"\"\nallow_no_token = true\n") + one_node);
    EXPECT_TRUE(c.admin.allow_no_token);
    EXPECT_EQ(admin_token_status_of(c.admin), admin_token_status::open_by_choice);
    EXPECT_FALSE(admin_token_problem(c, true));
    c = parse_config(std::string("[admin]\nlisten = \"\"\ntoken_env = \"\"\n") + one_node);
    EXPECT_EQ(admin_token_status_of(c.admin), admin_token_status::not_needed);
    EXPECT_FALSE(admin_token_problem(c, true));
}

TEST(AdminToken, AllowNoTokenMustBeABoolean) {
    try {
        parse_config(std::string("[admin]\nallow_no_token = \"yes\"\n") + one_node, "g.toml");
        FAIL() << "accepted";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("admin.allow_no_token"), std::string::npos) << e.what();
    }
}

// A token file that does not exist is not an error at load: serve creates it; reload calls it a problem.
TEST(AdminToken, MissingTokenFileIsToBeCreatedRelativeToTheConfiguration) {
    temp_dir dir;
    const auto c = parse_config(std::string("[admin]\ntoken_file = \"admin.token\"\n") + one_node,
                                dir.path + "/gatehouse.toml");
    EXPECT_TRUE(c.admin.token_file_missing);
    EXPECT_EQ(c.admin.token_path, dir.path + "/admin.token");
    EXPECT_EQ(admin_token_status_of(c.admin), admin_token_status::file_to_create);
    EXPECT_FALSE(admin_token_problem(c, false));
    const auto p = admin_token_problem(c, true);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->key, "admin.token_file");
}

TEST(AdminToken, CreatedFileHasMode0600And64HexDigits) {
    temp_dir dir;
    const auto old_mask = ::umask(0);  // the file must be 0600 whatever the umask allows
    const auto r = create_token_file(dir.path + "/t");
    ::umask(old_mask);
    ASSERT_EQ(r.error, token_file_error::none) << r.detail;
    struct stat st {};
    ASSERT_EQ(::lstat((dir.path + "/t").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(read(dir.path + "/t"), r.token + "\n");
    EXPECT_EQ(r.token.size(), 64u);
    EXPECT_EQ(r.token.find_first_not_of("0123456789abcdef"), std::string::npos);
    const auto again = create_token_file(dir.path + "/u");
    EXPECT_NE(again.token, r.token);
}

// Never replaces an existing file, and never follows a symlink planted at the path (even a dangling one).
TEST(AdminToken, ExistingFileOrPlantedSymlinkIsNeverWritten) {
    temp_dir dir;
    std::ofstream(dir.path + "/t") << "keep\n";
    EXPECT_EQ(create_token_file(dir.path + "/t").error, token_file_error::exists);
    EXPECT_EQ(read(dir.path + "/t"), "keep\n");
    ASSERT_EQ(::symlink((dir.path + "/target").c_str(), (dir.path + "/link").c_str()), 0);
    EXPECT_NE(create_token_file(dir.path + "/link").error, token_file_error::none);
    EXPECT_FALSE(std::filesystem::exists(dir.path + "/target"));
}

TEST(AdminToken, CreateMissingTokenFileTakesTheTokenIntoTheConfiguration) {
    temp_dir dir;
    auto c = parse_config(std::string("[admin]\ntoken_file = \"admin.token\"\n") + one_node,
                          dir.path + "/gatehouse.toml");
    EXPECT_EQ(create_missing_token_file(c.admin), "");
    EXPECT_EQ(admin_token_status_of(c.admin), admin_token_status::present);
    EXPECT_EQ(read(dir.path + "/admin.token"), c.admin.token + "\n");
    // Loaded again, the file is simply read.
    const auto again = parse_config(std::string("[admin]\ntoken_file = \"admin.token\"\n") + one_node,
                                    dir.path + "/gatehouse.toml");
    EXPECT_EQ(again.admin.token, c.admin.token);
}

}  // namespace
