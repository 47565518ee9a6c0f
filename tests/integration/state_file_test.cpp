// A state file that exists but cannot be read or parsed stops the start (naming the file) instead of silently
// forgetting maintenance; a missing one is a first start.
#include "admin_client.hpp"
#include "run_command.hpp"

#include <filesystem>

namespace gatehouse::test {
namespace {

class StateFile : public GatehouseTest {
protected:
    /// Writes the harness's configuration (with an admin token file) with maintenance.state_file = `state_file`;
    /// returns its path.
    std::string write_config(const std::string& state_file) {
        gatehouse_options o;
        for (const auto& u : upstreams_) o.nodes.push_back({u->name(), u->address()});
        o.maintenance = {{"state_file", "\"" + state_file + "\""}};
        const std::string path = scratch_dir() + "/gatehouse.toml", token = scratch_dir() + "/admin.token";
        std::ofstream(token) << admin_token << "\n";
        std::ofstream(path) << make_config(o, reserve_port(), reserve_port(), token);
        return path;
    }
};

TEST_F(StateFile, GarbageStateFileStopsTheStartNamingTheFile) {
    add_upstream("node1");
    const std::string state = scratch_dir() + "/state.json";
    std::ofstream(state) << "{\"maintenance\": {\"enabled\": tru";
    const auto r = run_gatehouse({"serve", "-c", write_config(state)}, scratch_dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;  // exited on its own (-1: still running after 20 s)
    EXPECT_NE(r.output.find("cannot start: state file " + state), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("gatehouse listening on"), std::string::npos) << r.output;
}

TEST_F(StateFile, UnreadableStateFileStopsTheStartNamingTheFile) {
    add_upstream("node1");
    // A directory where the file should be: it exists but cannot be read (root reads any mode, so no chmod).
    const std::string state = scratch_dir() + "/state.json";
    std::filesystem::create_directory(state);
    const auto r = run_gatehouse({"serve", "-c", write_config(state)}, scratch_dir());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("cannot start: state file " + state + ": cannot read"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("gatehouse listening on"), std::string::npos) << r.output;
}

// No file yet is a first start: gatehouse runs and writes the file at the first change.
TEST_F(StateFile, MissingStateFileIsAFirstStart) {
    add_upstream("node1");
    const std::string state = scratch_dir() + "/state.json";
    auto& gh = start_gatehouse(
        {.maintenance = {{"state_file", "\"" + state + "\""}}, .admin_token = std::string(admin_token)});
    EXPECT_EQ(admin_call(gh, "PUT", "/api/maintenance", "{}").status, 200u);
    EXPECT_TRUE(std::filesystem::exists(state));
}

}  // namespace
}  // namespace gatehouse::test
