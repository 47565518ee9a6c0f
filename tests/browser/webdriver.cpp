#include "webdriver.hpp"

#include "support/gatehouse_process.hpp"
#include "support/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace gatehouse::test {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view element_key = "element-6066-11e4-a52e-4f735466cecf";

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

std::string read_tail(const std::string& path, std::size_t n = 3000) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    auto text = s.str();
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

struct reply {
    unsigned status = 0;
    json::value body;
};

/// One HTTP exchange with chromedriver on a fresh connection.
reply http_json(std::uint16_t port, std::string_view method, std::string_view path, const json::value* body,
                std::chrono::milliseconds timeout) {
    client_connection c(port, timeout);
    std::string payload = body ? json::serialize(*body) : std::string();
    std::string req;
    req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:").append(std::to_string(port));
    req.append("\r\nConnection: close\r\nAccept: application/json\r\n");
    if (body) req.append("Content-Type: application/json; charset=utf-8\r\nContent-Length: ")
                  .append(std::to_string(payload.size())).append("\r\n");
    req.append("\r\n").append(payload);
    c.send(req);
    const auto r = c.read_response();
    reply out;
    out.status = r.status;
    json::error_code ec;
    out.body = json::parse(r.body, ec);
    if (ec) throw std::runtime_error("webdriver " + std::string(method) + " " + std::string(path) + ": status " +
                                     std::to_string(r.status) + ", not JSON: " + r.body.substr(0, 300));
    return out;
}

/// The "value" of a successful answer; throws with WebDriver's error otherwise.
json::value value_or_throw(const reply& r, std::string_view method, std::string_view path) {
    const auto* obj = r.body.if_object();
    const json::value* value = obj ? obj->if_contains("value") : nullptr;
    if (r.status == 200 && value) return *value;
    std::string what = "webdriver " + std::string(method) + " " + std::string(path) + ": status " +
                       std::to_string(r.status);
    if (value && value->is_object()) {
        const auto& v = value->get_object();
        if (const auto* e = v.if_contains("error"); e && e->is_string()) what += ": " + std::string(e->get_string());
        if (const auto* m = v.if_contains("message"); m && m->is_string())
            what += ": " + std::string(m->get_string()).substr(0, 600);
    } else {
        what += ": " + json::serialize(r.body).substr(0, 600);
    }
    throw std::runtime_error(what);
}

}  // namespace

std::string chromium_path() { return env_or("GATEHOUSE_CHROMIUM", "/usr/bin/chromium"); }
std::string chromedriver_path() { return env_or("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver"); }

// ---- chromedriver_process ---------------------------------------------------------------------------------

chromedriver_process::chromedriver_process(const std::string& binary, const std::string& log_path,
                                           std::chrono::milliseconds timeout)
    : log_path_(log_path) {
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile: try another
        port_ = free_port();
        const std::string port_arg = "--port=" + std::to_string(port_);
        const std::string log_arg = "--log-path=" + log_path;
        std::vector<char*> argv{const_cast<char*>(binary.c_str()), const_cast<char*>(port_arg.c_str()),
                                const_cast<char*>(log_arg.c_str()), nullptr};
        const int out = ::open((log_path + ".out").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            if (out >= 0) ::close(out);
            throw std::runtime_error("fork failed");
        }
        if (pid == 0) {
            // Own process group, so the destructor can end chromedriver and the browser it starts together.
            ::setpgid(0, 0);
            // Ends with the test process even if it crashes.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(1);
            if (out >= 0) {
                ::dup2(out, 1);
                ::dup2(out, 2);
            }
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
        if (out >= 0) ::close(out);
        ::setpgid(pid, pid);  // also from the parent: no race with the child's own call
        pid_ = pid;

        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                last_error = "chromedriver exited (status " + std::to_string(status) + ")";
                break;
            }
            try {
                const auto r = http_json(port_, "GET", "/status", nullptr, 2s);
                const auto* v = r.body.as_object().if_contains("value");
                if (v && v->is_object() && v->as_object().contains("ready") && v->as_object().at("ready").is_bool() &&
                    v->as_object().at("ready").get_bool())
                    return;
            } catch (const std::exception& e) {
                last_error = e.what();
            }
            std::this_thread::sleep_for(50ms);
        }
        stop();
    }
    throw std::runtime_error("chromedriver did not become ready: " + last_error + "\nlog:\n" + read_tail(log_path_) +
                             "\noutput:\n" + read_tail(log_path_ + ".out"));
}

chromedriver_process::~chromedriver_process() { stop(); }

void chromedriver_process::stop() noexcept {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    ::kill(-pid_, SIGKILL);  // anything of the group still alive (a browser chromedriver did not quit)
    pid_ = -1;
}

// ---- webdriver_session ------------------------------------------------------------------------------------

webdriver_session::webdriver_session(std::uint16_t driver_port, json::object always_match,
                                     std::chrono::milliseconds timeout)
    : port_(driver_port), timeout_(timeout) {
    json::value body = {{"capabilities", {{"alwaysMatch", std::move(always_match)}}}};
    const auto r = http_json(port_, "POST", "/session", &body, timeout_);
    const auto v = value_or_throw(r, "POST", "/session");
    id_ = std::string(v.at("sessionId").as_string());
}

webdriver_session::~webdriver_session() {
    if (id_.empty()) return;
    try {
        http_json(port_, "DELETE", "/session/" + id_, nullptr, 20s);
    } catch (...) {
        // chromedriver_process ends whatever is left.
    }
}

json::value webdriver_session::command(std::string_view method, std::string_view path, const json::value& body) {
    const std::string full = "/session/" + id_ + std::string(path);
    const bool has_body = method == "POST";
    const json::value empty = json::object{};
    const auto r = http_json(port_, method, full, has_body ? (body.is_null() ? &empty : &body) : nullptr, timeout_);
    return value_or_throw(r, method, full);
}

void webdriver_session::navigate(const std::string& url) { command("POST", "/url", {{"url", url}}); }

std::string webdriver_session::find(const std::string& css) {
    const auto v = command("POST", "/element", {{"using", "css selector"}, {"value", css}});
    return std::string(v.at(element_key).as_string());
}

void webdriver_session::click(const std::string& element) { command("POST", "/element/" + element + "/click"); }

void webdriver_session::clear(const std::string& element) { command("POST", "/element/" + element + "/clear"); }

void webdriver_session::send_keys(const std::string& element, const std::string& text) {
    command("POST", "/element/" + element + "/value", {{"text", text}});
}

std::string webdriver_session::text(const std::string& element) {
    return std::string(command("GET", "/element/" + element + "/text").as_string());
}

bool webdriver_session::displayed(const std::string& element) {
    return command("GET", "/element/" + element + "/displayed").as_bool();
}

json::value webdriver_session::execute(const std::string& script, json::array args) {
    return command("POST", "/execute/sync", {{"script", script}, {"args", std::move(args)}});
}

bool webdriver_session::alert_open(std::string& text) {
    const std::string full = "/session/" + id_ + "/alert/text";
    const auto r = http_json(port_, "GET", full, nullptr, timeout_);
    if (r.status == 404) return false;  // "no such alert"
    const auto v = value_or_throw(r, "GET", full);
    text = v.is_string() ? std::string(v.get_string()) : std::string();
    return true;
}

void webdriver_session::accept_alert() { command("POST", "/alert/accept"); }

void webdriver_session::dismiss_alert() { command("POST", "/alert/dismiss"); }

std::string webdriver_session::screenshot_png() {
    return base64_decode(command("GET", "/screenshot").as_string());
}

// ---- base64 -----------------------------------------------------------------------------------------------

std::string base64_decode(std::string_view in) {
    auto digit = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(in.size() / 4 * 3);
    unsigned acc = 0;
    int bits = 0;
    for (const char c : in) {
        if (c == '=') break;
        if (c == '\n' || c == '\r') continue;
        const int d = digit(c);
        if (d < 0) throw std::runtime_error("invalid base64");
        acc = (acc << 6) | static_cast<unsigned>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

}  // namespace gatehouse::test
