// `gatehouse import-nginx FILE -o OUT` on the seed's snippet and on NocoBase's own Nginx configuration, then
// `gatehouse check -c OUT`: the real binary accepts what it wrote. A broken file exits 1 naming its line.
#include "shell_command.hpp"
#include "support/gatehouse_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace gatehouse::test {
namespace {

const std::string fixtures = std::string(GATEHOUSE_SOURCE_DIR) + "/tests/unit/nginx/fixtures/";

/// `gatehouse ARGS` (stdout and stderr), bounded in time.
command_result gatehouse_cli(const std::string& args) { return run_shell(gatehouse_binary() + " " + args, 30); }

class ImportNginxCli : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        char t[] = "/tmp/gatehouse-import-XXXXXX";
        ASSERT_TRUE(::mkdtemp(t));
        dir_ = t;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

// The translation of each file passes `gatehouse check` as it is written.
TEST_P(ImportNginxCli, CheckAcceptsTheTranslation) {
    const std::string out = dir_ + "/gatehouse.toml";
    const auto imported = gatehouse_cli("import-nginx " + fixtures + GetParam() + " -o " + out);
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    const auto checked = gatehouse_cli("check -c " + out);
    std::ifstream in(out);
    EXPECT_EQ(checked.exit_code, 0) << checked.output << "\n" << std::string(std::istreambuf_iterator<char>(in), {});
    EXPECT_NE(checked.output.find("configuration OK"), std::string::npos) << checked.output;
}

INSTANTIATE_TEST_SUITE_P(SeedAndNocoBase, ImportNginxCli,
                         ::testing::Values("seed_snippet.conf", "nocobase_image.conf"));

// A syntax error: exit 1, FILE:LINE in the message, nothing on stdout but the message.
TEST(ImportNginxCliErrors, SyntaxErrorNamesTheLine) {
    char t[] = "/tmp/gatehouse-import-XXXXXX";
    ASSERT_TRUE(::mkdtemp(t));
    const std::string file = std::string(t) + "/broken.conf";
    std::ofstream(file) << "upstream a {\n  server 10.0.0.1:13000\n}\n";
    const auto r = gatehouse_cli("import-nginx " + file);
    std::filesystem::remove_all(t);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find(file + ":3: directive \"server\" is not terminated by ';'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test
