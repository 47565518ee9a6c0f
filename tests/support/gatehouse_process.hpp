// Runs the real gatehouse binary (`gatehouse serve -c <temp file>`) for integration tests.
#pragma once

#include "socket_util.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <sys/types.h>

namespace gatehouse::test {

/// A port on 127.0.0.1 that was free a moment ago (bound to :0, read, closed): another process may take it before
/// the caller binds it. Only for third-party servers that cannot bind a reserved_port (they set no SO_REUSEADDR);
/// their callers retry. Everything else takes a reserved_port.
std::uint16_t free_port();

/// Path of the gatehouse binary under test (compile definition GATEHOUSE_BINARY).
std::string gatehouse_binary();

struct node_spec {
    std::string name;
    std::string address;  ///< "127.0.0.1:PORT"
};

/// The parts of a gatehouse configuration a test varies; everything else keeps its default.
struct gatehouse_options {
    unsigned workers = 1;
    std::vector<node_spec> nodes;
    std::vector<std::string> trusted_proxies;                     ///< CIDRs
    std::vector<std::pair<std::string, std::string>> proxy;       ///< other raw TOML values of [proxy]
    std::vector<std::pair<std::string, std::string>> upstream;    ///< raw TOML values, e.g. {"tries", "2"}
    std::vector<std::pair<std::string, std::string>> timeouts;    ///< durations, e.g. {"client_header", "1s"}
    std::vector<std::pair<std::string, std::string>> limits;      ///< sizes, e.g. {"max_request_head", "4KiB"}
    /// Raw TOML values of [health_check]. Off by default, so data-plane tests see only their own traffic.
    std::vector<std::pair<std::string, std::string>> health_check{{"enabled", "false"}};
    /// Raw TOML values of [maintenance], e.g. {"retry_after", "\"30s\""}.
    std::vector<std::pair<std::string, std::string>> maintenance;
    /// Raw TOML values of [compression], e.g. {"min_length", "\"0\""}.
    std::vector<std::pair<std::string, std::string>> compression;
    /// The admin token, written to a file named by [admin] token_file; "" = no token and admin.allow_no_token = true
    /// (loopback clients only).
    std::string admin_token;
    /// Extra arguments after `serve -c FILE`, e.g. "--maintenance".
    std::vector<std::string> serve_args;
};

/// The TOML text for `options`, listening on 127.0.0.1:port with the admin API on 127.0.0.1:admin_port.
/// `token_file` is written into [admin] when options.admin_token is set.
std::string make_config(const gatehouse_options& options, std::uint16_t port, std::uint16_t admin_port,
                        const std::string& token_file = {});

class gatehouse_process {
public:
    /// Reserves two ports (proxy, admin; see reserved_port), writes the configuration and starts gatehouse on them.
    /// The reservations last as long as this object, so a gatehouse stopped and started again on the same ports
    /// (port(), admin_port()) finds them free. Throws (with the log) if it does not become ready within
    /// `ready_timeout`.
    explicit gatehouse_process(const gatehouse_options& options,
                               std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));
    /// Starts gatehouse on a complete TOML text that listens on 127.0.0.1:port (admin_port: where its admin API
    /// listens, 0 when the text has none). The caller keeps those ports reserved (reserved_port) at least until the
    /// constructor returns.
    gatehouse_process(std::string toml, std::uint16_t port, std::uint16_t admin_port = 0,
                      std::chrono::milliseconds ready_timeout = std::chrono::seconds(10),
                      std::vector<std::string> serve_args = {});
    /// Kills the process (SIGKILL) if it still runs and removes its temporary files.
    ~gatehouse_process();
    gatehouse_process(const gatehouse_process&) = delete;
    gatehouse_process& operator=(const gatehouse_process&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::uint16_t admin_port() const noexcept { return admin_port_; }
    /// True when the admin listener (if any) answers GET /healthz: the control thread runs its event loop.
    bool control_loop_answers() const;
    /// The temporary directory holding the configuration, the log and the token file.
    const std::string& dir() const noexcept { return dir_; }
    const std::string& config_path() const noexcept { return config_path_; }
    /// Replaces the configuration file's text (for reload tests); the process is not told.
    void rewrite_config(const std::string& toml);
    pid_t pid() const noexcept { return pid_; }
    const std::string& config_text() const noexcept { return toml_; }

    /// Everything gatehouse wrote to stdout and stderr so far.
    std::string log() const;
    /// Waits until the log contains `needle`.
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const;

    long rss_kib() const;        ///< VmRSS, -1 when unknown
    long peak_rss_kib() const;   ///< VmHWM, -1 when unknown
    /// Resets VmHWM to the current RSS (/proc/PID/clear_refs); false when the kernel refuses.
    bool reset_peak_rss() const;
    int open_fds() const;        ///< entries in /proc/PID/fd, -1 when unknown

    void signal(int signal_number);
    /// True once the test sent a signal (the process may then end on purpose).
    bool signalled() const noexcept { return signalled_; }
    /// The exit code if the process has ended (see wait_exit), nullopt while it runs.
    std::optional<int> exit_code() { running(); return exit_code_; }
    /// Waits for the process to end: its exit code, 128 + signal if killed, nullopt if still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool running();

private:
    void make_dir();
    void start(std::chrono::milliseconds ready_timeout);  // throws, leaving no process running
    void kill_and_reap() noexcept;

    std::string dir_, config_path_, log_path_, toml_;
    std::vector<reserved_port> reserved_;  ///< the ports this object picked, held until it is destroyed
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::vector<std::string> serve_args_;
    std::string token_file_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    bool signalled_ = false;
};

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns its last value.
template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds period = std::chrono::milliseconds(10));

}  // namespace gatehouse::test

#include <thread>

template <class Condition>
bool gatehouse::test::wait_until(Condition condition, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds period) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(period);
    }
}
