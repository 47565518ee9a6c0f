// Talking to gatehouse's admin API and recording what clients see under load, for the admin, maintenance and
// reload tests.
#pragma once

#include "harness.hpp"

#include <mutex>
#include <thread>

namespace gatehouse::test {

inline constexpr std::string_view admin_token = "t0ken-for-tests";

/// One admin API call on a fresh connection to `g`'s admin port.
inline http_response admin_call(const gatehouse_process& g, std::string_view method, std::string_view target,
                                std::string_view body = {}, std::string_view token = admin_token) {
    client_connection c(g.admin_port(), 10s);
    std::string req;
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1:");
    req.append(std::to_string(g.admin_port())).append("\r\nConnection: close\r\n");
    if (!token.empty()) req.append("Authorization: Bearer ").append(token).append("\r\n");
    if (!body.empty() || method == "PUT" || method == "POST")
        req.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
    req.append("\r\n").append(body);
    c.send(req);
    return c.read_response(method == "HEAD");
}

/// Every answer clients got while a test changed things under them: keep-alive GET loops on several threads, each
/// request recorded with when it was sent and what came back. Bounded: stops at stop(), after 60 s, or 1e6 requests.
class recorded_load {
public:
    using clock = std::chrono::steady_clock;
    struct exchange {
        clock::time_point sent, answered;
        unsigned status = 0;  ///< 0 = the exchange failed (see `error`)
        std::string node;     ///< X-Node
        std::string content_type;
        std::string body;     ///< first 300 bytes
        std::string error;
        bool same_connection = false;  ///< sent on a connection that had already carried a request
    };

    /// `targets` are cycled through; `extra_headers` go on every request (lines ending in CRLF).
    recorded_load(std::uint16_t port, int threads, std::vector<std::string> targets = {"/"},
                  std::string extra_headers = {}) {
        const auto deadline = clock::now() + 60s;
        for (int t = 0; t < threads; ++t) {
            threads_.emplace_back([this, port, t, deadline, targets, extra_headers] {
                std::unique_ptr<client_connection> c;
                bool used = false;
                for (int i = 0; i < 1000000 && !stop_ && clock::now() < deadline; ++i) {
                    exchange x;
                    x.sent = clock::now();
                    try {
                        if (!c) {
                            c = std::make_unique<client_connection>(port, 10s);
                            used = false;
                        }
                        x.same_connection = used;
                        const auto& target = targets[static_cast<std::size_t>(i + t) % targets.size()];
                        c->send(get_request(target + (target.find('?') == std::string::npos ? "?" : "&") + "t=" +
                                                std::to_string(t) + "." + std::to_string(i),
                                            extra_headers));
                        used = true;
                        const auto r = c->read_response();
                        x.status = r.status;
                        x.node = r.header("X-Node");
                        x.content_type = r.header("Content-Type");
                        x.body = r.body.substr(0, 300);
                        if (!r.keep_alive) c.reset();
                    } catch (const std::exception& e) {
                        x.error = e.what();
                        c.reset();
                    }
                    x.answered = clock::now();
                    std::lock_guard lock(m_);
                    log_.push_back(std::move(x));
                }
            });
        }
    }
    ~recorded_load() { stop(); }

    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    /// Waits until at least `n` more exchanges than now have been recorded (bounded by `timeout`).
    bool wait_for_more(std::size_t n, std::chrono::milliseconds timeout = 10s) const {
        const auto target = size() + n;
        return wait_until([&] { return size() >= target; }, timeout, 2ms);
    }
    std::size_t size() const {
        std::lock_guard lock(m_);
        return log_.size();
    }
    std::vector<exchange> log() const {
        std::lock_guard lock(m_);
        return log_;
    }

private:
    std::atomic<bool> stop_{false};
    mutable std::mutex m_;
    std::vector<exchange> log_;
    std::vector<std::thread> threads_;
};

inline std::string describe(const recorded_load::exchange& x) {
    return "status " + std::to_string(x.status) + " node '" + x.node + "' type '" + x.content_type + "' body '" +
           x.body.substr(0, 120) + "' error '" + x.error + "'";
}

}  // namespace gatehouse::test
