// Runs the gatehouse binary as a command (check, the operator commands) and captures what it prints.
#pragma once

#include "support/gatehouse_process.hpp"

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

/// Runs `gatehouse ARGS...` with a bound on time, capturing its output.
inline command_result run_gatehouse(std::vector<std::string> args, const std::string& dir) {
    const std::string out_path = dir + "/cli-output.txt";
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
    const int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    command_result result;
    if (rc != 0) return result;
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

}  // namespace gatehouse::test
