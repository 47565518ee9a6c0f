// A real redis-server (Debian's package) on a free 127.0.0.1 port for the [cluster] tests; stopped by its PID.
#pragma once

#include "harness.hpp"

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace gatehouse::test {

class redis_server {
public:
    /// Starts redis-server on `port` (0: a free one) without persistence; throws if it does not answer a PING.
    explicit redis_server(std::uint16_t port = 0) : port_(port ? port : free_port()) { start(); }
    ~redis_server() { stop(); }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string url(unsigned db = 0) const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db); }
    bool running() const noexcept { return pid_ > 0; }

    /// SIGTERM, then waits (at most 10 s, then SIGKILL) for it to exit: the port closes with it.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        const bool exited = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 10s);
        if (!exited) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }

    /// Starts it again on the same port (its data is gone: it keeps none).
    void start() {
        const std::string port = std::to_string(port_);
        std::vector<std::string> args{"redis-server", "--port",   port, "--bind",      "127.0.0.1", "--save",
                                      "",             "--appendonly", "no", "--daemonize", "no",        "--dir",
                                      "/tmp",         "--logfile", "/dev/null"};  // its log would only add noise
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        const int rc = ::posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            throw std::runtime_error("cannot run redis-server (is Debian's redis-server installed?)");
        }
        if (!wait_until([&] { return answers_ping(); }, 10s, 20ms)) {
            stop();
            throw std::runtime_error("redis-server did not answer on port " + port);
        }
    }

private:
    bool answers_ping() const {
        try {
            client_connection c(port_, 1s);
            c.send("PING\r\nQUIT\r\n");  // answered, then closed by the server
            c.is_closed_by_peer(1s);
            return c.pending().starts_with("+PONG");
        } catch (const std::exception&) {
            return false;
        }
    }

    std::uint16_t port_;
    pid_t pid_ = -1;
};

}  // namespace gatehouse::test
