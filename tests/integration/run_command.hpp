// Runs the gatehouse binary as a command (check, the operator commands) and captures what it prints.
#pragma once

#include "support/gatehouse_process.hpp"

#include <cerrno>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace gatehouse::test {

using namespace std::chrono_literals;

struct command_result {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr together
};

/// Starts `gatehouse ARGS...` with no input and its stdout and stderr into `out_path`; its pid, or -1.
inline pid_t spawn_gatehouse(std::vector<std::string> args, const std::string& out_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const std::string binary = gatehouse_binary();
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

/// Runs `gatehouse ARGS...` with a bound on time, capturing its output.
inline command_result run_gatehouse(std::vector<std::string> args, const std::string& dir) {
    const std::string out_path = dir + "/cli-output.txt";
    const pid_t pid = spawn_gatehouse(std::move(args), out_path);
    command_result result;
    if (pid <= 0) return result;
    int status = 0;
    const bool ended = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20s, 5ms);
    if (!ended) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    result.exit_code = ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(out_path);
    std::ostringstream text;
    text << in.rdbuf();
    result.output = text.str();
    return result;
}

/// A gatehouse command left running (demo, upstream): output to a file in `dir`; killed (SIGKILL) and reaped by its
/// own pid when destroyed.
class running_command {
public:
    running_command(std::vector<std::string> args, const std::string& dir)
        : out_path_(dir + "/running-output.txt"), pid_(spawn_gatehouse(std::move(args), out_path_)) {}
    ~running_command() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    running_command(const running_command&) = delete;
    running_command& operator=(const running_command&) = delete;

    pid_t pid() const noexcept { return pid_; }
    std::string output() const {
        std::ifstream in(out_path_);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
    bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout) const {
        return wait_until([&] { return output().find(needle) != std::string::npos; }, timeout);
    }

private:
    std::string out_path_;
    pid_t pid_ = -1;
};

}  // namespace gatehouse::test
