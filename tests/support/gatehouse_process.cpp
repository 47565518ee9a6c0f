#include "gatehouse_process.hpp"

#include "http_client.hpp"
#include "socket_util.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#ifndef GATEHOUSE_BINARY
#error "GATEHOUSE_BINARY must name the gatehouse executable"
#endif

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

long status_field_kib(pid_t pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
    return -1;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

std::string tail(const std::string& text, std::size_t n) {
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("free_port: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string error = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("free_port: " + error);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string gatehouse_binary() {
    if (const char* env = std::getenv("GATEHOUSE_TEST_BINARY"); env && *env) return env;
    return GATEHOUSE_BINARY;
}

std::string make_config(const gatehouse_options& o, std::uint16_t port, std::uint16_t admin_port,
                        const std::string& token_file) {
    std::string t;
    t += "[proxy]\nlisten = [\"127.0.0.1:" + std::to_string(port) + "\"]\n";
    t += "workers = " + std::to_string(o.workers) + "\n";
    t += "trusted_proxies = [";
    for (std::size_t i = 0; i < o.trusted_proxies.size(); ++i)
        t += (i ? ", \"" : "\"") + o.trusted_proxies[i] + "\"";
    t += "]\n";
    for (const auto& [k, v] : o.proxy) t += k + " = " + v + "\n";
    t += "\n[upstream]\n";
    for (const auto& [k, v] : o.upstream) t += k + " = " + v + "\n";
    for (const auto& n : o.nodes) t += "\n[[upstream.node]]\nname = \"" + n.name + "\"\naddress = \"" + n.address + "\"\n";
    if (!o.timeouts.empty()) {
        t += "\n[timeouts]\n";
        for (const auto& [k, v] : o.timeouts) t += k + " = \"" + v + "\"\n";
    }
    if (!o.limits.empty()) {
        t += "\n[limits]\n";
        for (const auto& [k, v] : o.limits) t += k + " = \"" + v + "\"\n";
    }
    if (!o.health_check.empty()) {
        t += "\n[health_check]\n";
        for (const auto& [k, v] : o.health_check) t += k + " = " + v + "\n";
    }
    t += "\n[admin]\nlisten = \"127.0.0.1:" + std::to_string(admin_port) + "\"\n";
    if (!token_file.empty()) t += "token_file = \"" + token_file + "\"\n";
    // No token: the test runner's environment must not give the process one, and the tests that use the admin API
    // without a token rely on the loopback rule, which needs the explicit opt-out.
    else t += "token_env = \"\"\nallow_no_token = true\n";
    if (!o.compression.empty()) {
        t += "\n[compression]\n";
        for (const auto& [k, v] : o.compression) t += k + " = " + v + "\n";
    }
    if (!o.maintenance.empty()) {
        t += "\n[maintenance]\n";
        for (const auto& [k, v] : o.maintenance) t += k + " = " + v + "\n";
    }
    return t;
}

gatehouse_process::gatehouse_process(const gatehouse_options& options, std::chrono::milliseconds ready_timeout)
    : serve_args_(options.serve_args) {
    make_dir();
    if (!options.admin_token.empty()) {
        token_file_ = dir_ + "/admin.token";
        std::ofstream out(token_file_, std::ios::binary | std::ios::trunc);
        out << options.admin_token << "\n";
    }
    // Held, not picked and closed: no other process can take either port before gatehouse binds it.
    port_ = reserved_.emplace_back().port();
    admin_port_ = reserved_.emplace_back().port();
    toml_ = make_config(options, port_, admin_port_, token_file_);
    start(ready_timeout);
}

gatehouse_process::gatehouse_process(std::string toml, std::uint16_t port, std::uint16_t admin_port,
                                     std::chrono::milliseconds ready_timeout, std::vector<std::string> serve_args)
    : toml_(std::move(toml)), port_(port), admin_port_(admin_port), serve_args_(std::move(serve_args)) {
    make_dir();
    start(ready_timeout);
}

void gatehouse_process::make_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/gatehouse-itest-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = templ;
    config_path_ = dir_ + "/gatehouse.toml";
    log_path_ = dir_ + "/gatehouse.log";
}

void gatehouse_process::rewrite_config(const std::string& toml) {
    const std::string temporary = config_path_ + ".new";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << toml;
    }
    ::rename(temporary.c_str(), config_path_.c_str());
    toml_ = toml;
}

gatehouse_process::~gatehouse_process() {
    kill_and_reap();
    const char* keep = std::getenv("GATEHOUSE_KEEP_TEST_FILES");
    if (!dir_.empty() && !(keep && *keep)) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

void gatehouse_process::start(std::chrono::milliseconds ready_timeout) {
    {
        std::ofstream out(config_path_, std::ios::binary | std::ios::trunc);
        out << toml_;
        if (!out) throw std::runtime_error("cannot write " + config_path_);
    }
    exit_code_.reset();

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const std::string binary = gatehouse_binary();
    std::vector<std::string> args{binary, "serve", "-c", config_path_};
    args.insert(args.end(), serve_args_.begin(), serve_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
    }

    // Ready: it says so in its log, its port accepts a connection, and its control thread answers on the admin
    // listener, so it runs its event loop. A signal sent earlier, between the log line and that loop, was lost
    // under TSan about once in 150 starts (gatehouse then never acted on a SIGTERM).
    const auto deadline = clock::now() + ready_timeout;
    bool announced = false;
    for (;;) {
        if (!running()) {
            throw std::runtime_error("gatehouse exited with code " + std::to_string(exit_code_.value_or(-1)) +
                                     " before it was ready; config:\n" + toml_ + "\nlog:\n" + tail(log(), 4000));
        }
        if (!announced) announced = log().find("gatehouse listening on") != std::string::npos;
        if (announced) {
            const int fd = connect_loopback(port_);
            if (fd >= 0) {
                ::close(fd);
                if (control_loop_answers()) return;
            }
        }
        if (clock::now() >= deadline) {
            const std::string text = tail(log(), 4000);
            kill_and_reap();  // a constructor that throws has no destructor to do it
            throw std::runtime_error("gatehouse not ready on port " + std::to_string(port_) + " within " +
                                     std::to_string(ready_timeout.count()) + " ms; log:\n" + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

bool gatehouse_process::control_loop_answers() const {
    if (admin_port_ == 0) return true;
    try {
        return get(admin_port_, "/healthz", {}, "127.0.0.1").status != 0;
    } catch (const std::exception&) {
        return false;
    }
}

void gatehouse_process::kill_and_reap() noexcept {
    if (pid_ <= 0 || exit_code_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    pid_t rc;
    do {
        rc = ::waitpid(pid_, &status, 0);
    } while (rc < 0 && errno == EINTR);
    exit_code_ = rc == pid_ ? decode_status(status) : -1;
}

std::string gatehouse_process::log() const { return log_path_.empty() ? std::string() : read_file(log_path_); }

bool gatehouse_process::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return log().find(needle) != std::string::npos; }, timeout);
}

long gatehouse_process::rss_kib() const { return status_field_kib(pid_, "VmRSS"); }

long gatehouse_process::peak_rss_kib() const { return status_field_kib(pid_, "VmHWM"); }

bool gatehouse_process::reset_peak_rss() const {
    std::ofstream out("/proc/" + std::to_string(pid_) + "/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

int gatehouse_process::open_fds() const {
    DIR* d = ::opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str());
    if (!d) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
    ::closedir(d);
    return n;
}

void gatehouse_process::signal(int signal_number) {
    signalled_ = true;
    if (pid_ > 0 && !exit_code_) ::kill(pid_, signal_number);
}

bool gatehouse_process::running() {
    if (pid_ <= 0 || exit_code_) return false;
    int status = 0;
    const pid_t rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
        exit_code_ = decode_status(status);
        return false;
    }
    return rc == 0;
}

std::optional<int> gatehouse_process::wait_exit(std::chrono::milliseconds timeout) {
    wait_until([&] { return !running(); }, timeout, std::chrono::milliseconds(5));
    return exit_code_;
}

}  // namespace gatehouse::test
