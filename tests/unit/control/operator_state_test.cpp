// Operator state: JSON round trip, rejection of broken files, the atomic state file, forgetting removed nodes.
#include <gatehouse/control/operator_state.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace gatehouse::control;

namespace {

/// The names in `dir`, sorted.
std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

operator_state sample() {
    operator_state s;
    s.maintenance = {true, "upgrade to \"1.7\"", 1764000000123, "node2"};
    s.pinned_node = "node1";
    s.nodes = {{"node2", node_admin::draining}, {"node3", node_admin::disabled}};
    return s;
}

TEST(OperatorState, JsonRoundTrip) {
    const auto s = sample();
    EXPECT_EQ(operator_state_from_json(to_json(s)), s);
    EXPECT_EQ(operator_state_from_json(to_json(operator_state{})), operator_state{});
    EXPECT_EQ(operator_state_from_json("{}"), operator_state{});
}

TEST(OperatorState, BrokenJsonIsRejectedWithAReason) {
    const auto message = [](std::string_view text) {
        try {
            operator_state_from_json(text);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message("{\"maintenance\": ").find("not valid JSON"), std::string::npos);
    EXPECT_NE(message("[]").find("must be an object"), std::string::npos);
    EXPECT_NE(message(R"({"maintenance": {"enabled": "yes"}})").find("'enabled'"), std::string::npos);
    EXPECT_NE(message(R"({"nodes": {"node1": "sleeping"}})").find("node 'node1'"), std::string::npos);
    EXPECT_NE(message(R"({"pinned_node": 3})").find("'pinned_node'"), std::string::npos);
}

TEST(OperatorState, KeepOnlyForgetsRemovedNodesPinAndVerifyNode) {
    auto s = sample();
    const auto dropped = s.keep_only({"node1", "node3"});
    EXPECT_EQ(dropped.size(), 2u);  // node2 drained, and node2 as verify_node
    EXPECT_EQ(s.admin_of("node2"), node_admin::active);
    EXPECT_EQ(s.admin_of("node3"), node_admin::disabled);
    EXPECT_TRUE(s.maintenance.verify_node.empty());
    EXPECT_EQ(s.pinned_node, "node1");
    s.keep_only({"node3"});
    EXPECT_TRUE(s.pinned_node.empty());
}

// Decisions about the nodes of a DNS name without an answer yet wait for it; other unknown names are dropped.
TEST(OperatorState, KeepOnlyKeepsTheNodesOfDnsNamesStillWaiting) {
    operator_state s;
    s.nodes = {{"svc.test@10.0.0.7", node_admin::draining},
               {"svc.testing@10.0.0.8", node_admin::disabled},
               {"other.test@10.0.0.9", node_admin::disabled},
               {"svc.test", node_admin::disabled}};
    s.pinned_node = "svc.test@10.0.0.7";
    const auto dropped = s.keep_only({"node1"}, {"svc.test"});
    EXPECT_EQ(dropped.size(), 3u);
    EXPECT_EQ(s.admin_of("svc.test@10.0.0.7"), node_admin::draining);
    EXPECT_EQ(s.pinned_node, "svc.test@10.0.0.7");
    EXPECT_EQ(s.admin_of("svc.testing@10.0.0.8"), node_admin::active) << "a longer name is another name";
    EXPECT_EQ(s.admin_of("svc.test"), node_admin::active) << "the bare name is no node of it";
    s.keep_only({"node1"});  // the name answered without that address
    EXPECT_EQ(s.admin_of("svc.test@10.0.0.7"), node_admin::active);
    EXPECT_TRUE(s.pinned_node.empty());
}

TEST(OperatorState, StateFileIsWrittenAtomicallyAndReadBack) {
    std::string templ = ::testing::TempDir() + "gatehouse-state-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    const std::string path = templ + "/sub/dir/state.json";  // directories are created
    bool found = true;
    EXPECT_EQ(load_state_file(path, found), operator_state{});
    EXPECT_FALSE(found);
    ASSERT_EQ(save_state_file(path, sample()), "");
    EXPECT_EQ(files_in(templ + "/sub/dir"), std::vector<std::string>{"state.json"});  // no temporary left
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(load_state_file(path, found), sample());
    EXPECT_TRUE(found);
    std::ofstream(path) << "{broken";
    EXPECT_THROW(load_state_file(path, found), std::runtime_error);
    std::filesystem::remove_all(templ);
}

// Another local user who can write the directory plants symlinks where a temporary file could be (the fixed name
// "state.json.tmp" used before); the save never writes through them.
TEST(OperatorState, SymlinkPlantedAtTheTemporaryPathIsNotFollowed) {
    std::string templ = ::testing::TempDir() + "gatehouse-state-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    const std::string path = templ + "/state.json";
    const std::string victim = templ + "/victim";
    ASSERT_EQ(::symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
    ASSERT_EQ(save_state_file(path, sample()), "");
    EXPECT_FALSE(std::filesystem::exists(victim)) << "the save wrote through a planted symlink";
    bool found = false;
    EXPECT_EQ(load_state_file(path, found), sample());
    EXPECT_TRUE(std::filesystem::is_symlink(path + ".tmp"));
    EXPECT_EQ(files_in(templ), (std::vector<std::string>{"state.json", "state.json.tmp"}));
    std::filesystem::remove_all(templ);
}

TEST(OperatorState, UnwritableStateFileIsReportedNotThrown) {
    const auto error = save_state_file("/proc/gatehouse-cannot-write/state.json", sample());
    EXPECT_FALSE(error.empty());
}

}  // namespace
