// The access log never holds up a request: gatehouse's stdout is a pipe nobody reads, full from the start, and
// requests are still answered at once while the dropped lines are counted in gatehouse_log_lines_dropped_total.
#include "harness.hpp"

#include "support/socket_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

extern char** environ;

namespace gatehouse::test {
namespace {

class AccessLogBackpressure : public GatehouseTest {};

/// gatehouse serve with stdout into a pipe the test never reads (filled before the start) and stderr to a file.
/// Killed (SIGKILL) and reaped by its own pid at the end.
class gatehouse_on_stuck_stdout {
public:
    gatehouse_on_stuck_stdout(const std::string& dir, const std::string& toml) : log_path_(dir + "/stderr.log") {
        const std::string config_path = dir + "/gatehouse.toml";
        std::ofstream(config_path) << toml;
        if (::pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        fill_pipe();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, pipe_[1], 1);
        posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::string binary = gatehouse_binary(), serve = "serve", c = "-c", path = config_path;
        char* argv[] = {binary.data(), serve.data(), c.data(), path.data(), nullptr};
        if (::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
        ::close(pipe_[1]);  // the read end stays open and unread: writes block once the pipe is full
    }
    ~gatehouse_on_stuck_stdout() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
        }
        ::close(pipe_[0]);
    }
    pid_t pid() const noexcept { return pid_; }
    std::string log() const {
        std::ifstream in(log_path_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    /// The smallest pipe the kernel allows, already full.
    void fill_pipe() {
        const int size = ::fcntl(pipe_[1], F_SETPIPE_SZ, 4096);
        const std::string filler(size > 0 ? static_cast<std::size_t>(size) : 65536, 'f');
        if (::write(pipe_[1], filler.data(), filler.size()) != static_cast<ssize_t>(filler.size()))
            throw std::runtime_error("cannot fill the pipe");
    }

    std::string log_path_;
    int pipe_[2] = {-1, -1};
    pid_t pid_ = -1;
};

double sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(series + " ", 0) == 0) return std::strtod(line.c_str() + series.size() + 1, nullptr);
    return -1;
}

}  // namespace

TEST_F(AccessLogBackpressure, StuckStdoutDropsLinesAndNeverHoldsARequest) {
    auto& node = add_upstream("node1");
    gatehouse_options o;
    o.nodes.push_back({"node1", node.address()});
    const auto port = free_port(), admin_port = free_port();
    gatehouse_on_stuck_stdout gh(scratch_dir(), make_config(o, port, admin_port));
    ASSERT_GT(gh.pid(), 0);
    ASSERT_TRUE(wait_until([&] { return gh.log().find("gatehouse listening on") != std::string::npos; }, 10s))
        << gh.log();
    ASSERT_TRUE(wait_until([&] { return get(admin_port, "/healthz", {}, "127.0.0.1").status == 200; }, 10s));

    // Long lines (a 4 KiB target, the most the log keeps, and a 512-byte user agent): about 5 KiB each, so the
    // 8 MiB queue fills after some 1,700 requests; every request is still answered within a second.
    const std::string target = "/status/200?q=" + std::string(4000, 'a');
    const std::string agent = "User-Agent: " + std::string(500, 'u') + "\r\n";
    client_connection client(port, 1s);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 2500; ++i) {
        client.send(get_request(target, agent));
        const auto r = client.read_response();  // throws after 1 s: a request held up by the log
        ASSERT_EQ(r.status, 200u) << "request " << i;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 60s);

    std::string text;
    EXPECT_TRUE(wait_until(
        [&] {
            text = get(admin_port, "/metrics", {}, "127.0.0.1").body;
            return sample(text, "gatehouse_log_lines_dropped_total") > 0;
        },
        5s, 50ms))
        << text;
    EXPECT_TRUE(wait_until([&] { return gh.log().find("line(s) dropped: stdout") != std::string::npos; }, 5s))
        << gh.log();
}

}  // namespace gatehouse::test
