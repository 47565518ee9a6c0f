// The admin API is closed by default: no token and no admin.allow_no_token stops serve and check, a missing
// admin.token_file is created (random, mode 0600) at start and the operator commands then use it, and a reload
// cannot take the token away.
#include "admin_client.hpp"
#include "run_command.hpp"

#include <sys/stat.h>

namespace gatehouse::test {
namespace {

/// `text` with the first `from` replaced by `to` (the test fails if `from` is absent).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "'" << from << "' not in:\n" << text;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

class AdminToken : public GatehouseTest {
protected:
    /// The harness's configuration with a token file named `token_file` (relative to the configuration).
    std::string config_with_token_file(std::uint16_t port, std::uint16_t admin_port, const std::string& token_file) {
        gatehouse_options o;
        for (const auto& u : upstreams_) o.nodes.push_back({u->name(), u->address()});
        return make_config(o, port, admin_port, token_file);
    }
};

// No token (token_env names an unset variable, no token_file) and no opt-out: serve and check refuse the
// configuration, naming the keys that fix it; nothing listens.
TEST_F(AdminToken, ServeAndCheckRefuseAConfigurationWithoutTokenOrOptOut) {
    add_upstream("node1");
    gatehouse_options o;
    o.nodes.push_back({"node1", upstreams_[0]->address()});
    const auto port = reserve_port();
    const std::string text = replaced(make_config(o, port, reserve_port()), "allow_no_token = true\n", "");
    const std::string path = scratch_dir() + "/gatehouse.toml";
    std::ofstream(path) << text;

    auto r = run_gatehouse({"check", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("admin: no admin token"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("admin.allow_no_token = true"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("admin.token_file"), std::string::npos) << r.output;

    r = run_gatehouse({"serve", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("admin: no admin token"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("gatehouse listening on"), std::string::npos) << r.output;
}

// The opt-out restores the loopback rule: without a token, a loopback client with a loopback Host is served.
TEST_F(AdminToken, OptOutServesLoopbackClientsWithoutAToken) {
    add_upstream("node1");
    auto& gh = start_gatehouse();  // the harness writes admin.allow_no_token = true when there is no token
    ASSERT_NE(gh.config_text().find("allow_no_token = true"), std::string::npos);
    EXPECT_EQ(admin_call(gh, "GET", "/api/status", "", "").status, 200u);
    EXPECT_EQ(admin_call(gh, "PUT", "/api/maintenance", "{}", "").status, 200u);
}

// A missing token file is created at first start: mode 0600, 64 hex digits. A request without the token is
// refused even from loopback (401); with it, served; the operator commands read it from the same configuration.
TEST_F(AdminToken, MissingTokenFileIsCreatedAtStartAndTheCommandLineUsesIt) {
    add_upstream("node1");
    const auto port = reserve_port(), admin_port = reserve_port();
    gatehouses_.push_back(std::make_unique<gatehouse_process>(
        config_with_token_file(port, admin_port, "admin.token"), port, admin_port));
    auto& gh = *gatehouses_.back();
    const std::string file = gh.dir() + "/admin.token";
    EXPECT_TRUE(gh.wait_for_log("created the token file " + file, 2s)) << gh.log();

    struct stat st {};
    ASSERT_EQ(::lstat(file.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    EXPECT_EQ(token.size(), 64u);
    EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
    EXPECT_EQ(gh.log().find(token), std::string::npos) << "the token was written to the log";

    auto r = admin_call(gh, "GET", "/api/status", "", "");
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(admin_call(gh, "PUT", "/api/maintenance", "{}", "").status, 401u);
    EXPECT_EQ(admin_call(gh, "GET", "/api/status", "", token).status, 200u);

    auto cli = run_gatehouse({"maintenance", "on", "--reason", "token file", "-c", gh.config_path()}, gh.dir());
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_NE(cli.output.find("maintenance on"), std::string::npos) << cli.output;
    EXPECT_EQ(get(gh.port(), "/").status, 503u);

    // A second start keeps the file (and so the token) as it is.
    gh.signal(SIGTERM);
    ASSERT_TRUE(gh.wait_exit(10s).has_value());
    gatehouses_.push_back(std::make_unique<gatehouse_process>(
        replaced(gh.config_text(), "\"admin.token\"", "\"" + file + "\""), port, admin_port));
    EXPECT_EQ(admin_call(*gatehouses_.back(), "GET", "/api/status", "", token).status, 200u);
}

// gatehouse check does not create the file (it only says serve will); serve creates it once, never over a
// symlink planted in its place.
TEST_F(AdminToken, CheckLeavesTheFileAloneAndAPlantedSymlinkIsNotFollowed) {
    add_upstream("node1");
    const std::string path = scratch_dir() + "/gatehouse.toml";
    std::ofstream(path) << config_with_token_file(reserve_port(), reserve_port(), "admin.token");
    auto r = run_gatehouse({"check", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("does not exist yet: gatehouse serve creates it"), std::string::npos) << r.output;
    struct stat st {};
    EXPECT_NE(::lstat((scratch_dir() + "/admin.token").c_str(), &st), 0);

    // A dangling symlink looks "missing" to stat; serve must refuse to create through it.
    const std::string target = scratch_dir() + "/elsewhere";
    ASSERT_EQ(::symlink(target.c_str(), (scratch_dir() + "/admin.token").c_str()), 0);
    r = run_gatehouse({"serve", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("cannot create"), std::string::npos) << r.output;
    EXPECT_NE(::lstat(target.c_str(), &st), 0) << "the symlink was followed";
}

// A reload cannot leave the admin API without its token: the file without a token source is refused.
TEST_F(AdminToken, ReloadWithoutATokenIsRefused) {
    add_upstream("node1");
    gatehouse_options o;
    o.admin_token = std::string(admin_token);
    auto& gh = start_gatehouse(o);
    gh.rewrite_config(replaced(gh.config_text(), "token_file = \"" + gh.dir() + "/admin.token\"\n", "token_env = \"\"\n"));
    const auto r = admin_call(gh, "POST", "/api/reload");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_NE(r.body.find("no admin token"), std::string::npos) << r.body;
    EXPECT_EQ(admin_call(gh, "GET", "/api/status").status, 200u);
    EXPECT_EQ(admin_call(gh, "GET", "/api/status", "", "").status, 401u);
}

}  // namespace
}  // namespace gatehouse::test
