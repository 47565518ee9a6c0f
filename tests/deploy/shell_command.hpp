// Running a shell command with a time bound and its output captured, for the deploy/ checks.
#pragma once

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace gatehouse::test {

struct command_result {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr
};

/// Runs a shell command, bounded by coreutils' `timeout` (exit code 124 when it ran out).
inline command_result run_shell(const std::string& command, int seconds = 60) {
    command_result r;
    const std::string full = "timeout " + std::to_string(seconds) + " " + command + " 2>&1";
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) return r;
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, p)) r.output.append(buffer, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace gatehouse::test
