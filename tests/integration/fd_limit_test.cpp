// RLIMIT_NOFILE: gatehouse raises its soft limit to the hard limit at start, and `gatehouse check` warns when the
// configuration may need more descriptors than that.
#include "harness.hpp"
#include "run_command.hpp"

#include <sys/resource.h>

#include <fstream>
#include <sstream>

namespace gatehouse::test {
namespace {

class FdLimit : public GatehouseTest {};

/// Lowers this process's soft limit (inherited by the processes it starts) for its lifetime.
class lowered_soft_limit {
public:
    explicit lowered_soft_limit(rlim_t soft) {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit l = saved_;
        l.rlim_cur = std::min(soft, saved_.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &l);
    }
    ~lowered_soft_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
    rlim_t hard() const noexcept { return saved_.rlim_max; }

private:
    rlimit saved_{};
};

/// "Max open files" of a running process: {soft, hard} as /proc/PID/limits shows them.
std::pair<std::string, std::string> open_files_limits(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Max open files", 0) != 0) continue;
        std::istringstream fields(line.substr(std::string_view("Max open files").size()));
        std::string soft, hard;
        fields >> soft >> hard;
        return {soft, hard};
    }
    return {};
}

std::string config_with_max_connections(unsigned workers, unsigned max_connections) {
    gatehouse_options o;
    o.workers = workers;
    o.nodes.push_back({"node1", "127.0.0.1:9"});
    return make_config(o, free_port(), free_port()) + "\n[limits]\nmax_connections = " +
           std::to_string(max_connections) + "\n";
}

}  // namespace

// Started with a soft limit of 256, the running process has its soft limit at the hard limit, and says so.
TEST_F(FdLimit, SoftLimitIsRaisedToTheHardLimitAtStart) {
    add_upstream("node1");
    std::optional<lowered_soft_limit> lowered(256);
    const rlim_t hard = lowered->hard();
    auto& gh = start_gatehouse();
    lowered.reset();
    const auto [soft_text, hard_text] = open_files_limits(gh.pid());
    ASSERT_FALSE(soft_text.empty()) << "no Max open files in /proc/" << gh.pid() << "/limits";
    EXPECT_EQ(soft_text, hard_text);
    EXPECT_EQ(hard_text, hard == RLIM_INFINITY ? "unlimited" : std::to_string(hard));
    if (hard > 256) {
        EXPECT_TRUE(gh.wait_for_log("soft limit raised from 256 to " + hard_text, 2s)) << gh.log();
    }
    EXPECT_EQ(get(gh.port(), "/").status, 200u);
}

// check compares max_connections x workers (and their node sockets) with the hard limit.
TEST_F(FdLimit, CheckWarnsWhenConnectionsExceedTheLimit) {
    const std::string path = scratch_dir() + "/gatehouse.toml";
    std::ofstream(path) << config_with_max_connections(8, 1'000'000);  // 16 million descriptors at least
    auto r = run_gatehouse({"check", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("warning: limits.max_connections = 1000000 per worker may need"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("configuration OK"), std::string::npos) << r.output;

    std::ofstream(path, std::ios::trunc) << config_with_max_connections(1, 10);
    r = run_gatehouse({"check", "-c", path}, scratch_dir());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("file descriptors"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("may need"), std::string::npos) << r.output;
}

}  // namespace gatehouse::test
