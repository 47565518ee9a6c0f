// Active health checks (a node killed, restarted, hanging, failing, dead from the start, NocoBase "starting")
// and passive ejection, seen from the client side and in gatehouse's log.
#include "harness.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace gatehouse::test {
namespace {

class HealthCheck : public GatehouseTest {};

using clock = std::chrono::steady_clock;
using counts = std::map<std::string, std::size_t>;

constexpr auto check_interval = 200ms;
constexpr auto check_timeout = 300ms;
constexpr unsigned rise = 2, fall = 2;
/// Scheduling slack on a busy 2-core machine: the checks run on gatehouse's control thread, the log is polled.
constexpr auto margin = 500ms;

/// interval 200ms, timeout 300ms, rise 2, fall 2, no jitter, plus `extra`.
std::vector<std::pair<std::string, std::string>> fast_checks(std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> v{{"interval", "\"200ms\""}, {"timeout", "\"300ms\""},
                                                       {"rise", "2"}, {"fall", "2"}, {"jitter", "\"0ms\""}};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

std::string describe(const counts& c) {
    std::string s;
    for (const auto& [name, n] : c) s += (s.empty() ? "" : ", ") + name + "=" + std::to_string(n);
    return s;
}

/// Client threads sending GETs on keep-alive connections until stopped (or 30 s pass), counting the X-Node
/// of each answer and every failure (a status other than 200, or a broken connection) with the time its
/// request started.
class steady_load {
public:
    struct failure {
        clock::time_point started;
        std::string what;
    };

    steady_load(std::uint16_t port, int threads) : last_finished_started_(static_cast<std::size_t>(threads)) {
        const auto deadline = clock::now() + 30s;
        for (int t = 0; t < threads; ++t) {
            threads_.emplace_back([this, port, t, deadline] {
                std::unique_ptr<client_connection> c;
                for (int i = 0; i < 1000000 && !stop_ && clock::now() < deadline; ++i) {
                    const auto started = clock::now();
                    try {
                        if (!c) c = std::make_unique<client_connection>(port, 5s);
                        c->send(get_request("/?t=" + std::to_string(t) + "&i=" + std::to_string(i)));
                        const auto r = c->read_response();
                        if (!r.keep_alive) c.reset();
                        if (r.status != 200) {
                            fail(started, "status " + std::to_string(r.status) + ": " + r.raw);
                        } else {
                            std::lock_guard lock(m_);
                            ++seen_[r.header("X-Node")];
                        }
                    } catch (const std::exception& e) {
                        fail(started, e.what());
                        c.reset();
                    }
                    std::lock_guard lock(m_);
                    last_finished_started_[static_cast<std::size_t>(t)] = started;
                }
            });
        }
    }
    ~steady_load() { stop(); }

    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    counts seen() const {
        std::lock_guard lock(m_);
        return seen_;
    }
    /// The failures (the first 100) of requests that started before / at or after `t`.
    std::vector<failure> failures(clock::time_point t, bool after) const {
        std::lock_guard lock(m_);
        std::vector<failure> out;
        for (const auto& f : failures_)
            if ((f.started >= t) == after) out.push_back(f);
        return out;
    }
    std::size_t failure_count() const {
        std::lock_guard lock(m_);
        return failure_count_;
    }
    /// True once every client has finished a request it started at or after `t`: each client sends one request at
    /// a time, so every request started before `t` has finished too.
    bool each_finished_one_started_since(clock::time_point t) const {
        std::lock_guard lock(m_);
        for (const auto& started : last_finished_started_)
            if (started < t) return false;
        return true;
    }

private:
    void fail(clock::time_point started, std::string what) {
        std::lock_guard lock(m_);
        if (failure_count_++ < 100) failures_.push_back({started, std::move(what)});
    }

    std::atomic<bool> stop_{false};
    mutable std::mutex m_;
    counts seen_;
    std::vector<failure> failures_;
    std::size_t failure_count_ = 0;
    std::vector<clock::time_point> last_finished_started_;  ///< per client: when its last finished request started
    std::vector<std::thread> threads_;
};

std::string describe(const std::vector<steady_load::failure>& fs) {
    std::string s;
    for (const auto& f : fs) s += "\n  " + f.what.substr(0, 400);
    return s;
}

/// Checks the failures of a load during which node `node` was killed: none at all. A request sent after the
/// kill finds the node refusing and is retried on another node; a GET the node had already taken when it died
/// comes back with nothing and is retried too (idempotent, body held).
void expect_no_failure_after_kill(const steady_load& load, clock::time_point killed, const std::string& node) {
    const auto after = load.failures(killed, true);
    EXPECT_TRUE(after.empty()) << after.size() << " GETs sent after the kill of " << node << " failed:" << describe(after);
    const auto during = load.failures(killed, false);
    EXPECT_TRUE(during.empty()) << during.size() << " GETs in flight at " << node << " when it was killed failed:"
                                << describe(during);
}

/// Waits for `needle` in the log; the time it took, or nullopt after `timeout`.
std::optional<std::chrono::milliseconds> time_to_log(const gatehouse_process& gh, std::string_view needle,
                                                     std::chrono::milliseconds timeout) {
    const auto start = clock::now();
    if (!wait_until([&] { return gh.log().find(needle) != std::string::npos; }, timeout, 5ms)) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

// A node killed under steady load (3 clients) is out of rotation within fall x interval + timeout, and no GET
// sent after the kill fails meanwhile: requests that pick it are retried on the live node.
TEST_F(HealthCheck, NodeKilledUnderLoadLeavesRotationWithoutFailedRequests) {
    add_upstream("a");
    auto& b = add_upstream("b");
    // Passive checks off, so what takes the node out is the active checks being measured.
    auto& gh = start_gatehouse({.health_check = fast_checks({{"max_fails", "0"}})});
    steady_load load(gh.port(), 3);
    ASSERT_TRUE(b.wait_for_requests(50, 5s)) << "b never got traffic";

    b.stop();
    const auto killed = clock::now();
    const auto took = time_to_log(gh, "b down:", 5s);
    ASSERT_TRUE(took) << "b was not marked down";
    const auto bound = fall * check_interval + check_timeout + margin;
    std::cout << "killed node marked down after " << took->count() << " ms (bound " << bound.count() << " ms)\n";
    EXPECT_LE(*took, bound);

    // Out of rotation: no request tries it any more (each try would log a connect error).
    // Requests that picked b just before the change finish (each client finishes one sent after it).
    const auto marked_down = clock::now();
    ASSERT_TRUE(wait_until([&] { return load.each_finished_one_started_since(marked_down); }, 5s)) << "the load stalled";
    const auto tried_before = occurrences(gh.log(), "\": cannot connect to b");
    const auto served_before = load.seen()["a"];
    ASSERT_TRUE(wait_until([&] { return load.seen()["a"] >= served_before + 300; }, 5s)) << "the load stalled";
    const auto tried_after = occurrences(gh.log(), "\": cannot connect to b");
    load.stop();
    EXPECT_EQ(tried_after, tried_before) << "requests still try the down node";
    expect_no_failure_after_kill(load, killed, "b");
    std::cout << "answers: " << describe(load.seen()) << ", connect errors to b before it was down: " << tried_before
              << "\n";
}

// A killed node restarted on its port is back in rotation within rise x interval, and takes requests again.
TEST_F(HealthCheck, RestartedNodeReturnsWithinRiseChecks) {
    add_upstream("a");
    auto& b = add_upstream("b");
    auto& gh = start_gatehouse({.health_check = fast_checks({{"max_fails", "0"}})});
    steady_load load(gh.port(), 3);
    ASSERT_TRUE(b.wait_for_requests(20, 5s)) << "b never got traffic";
    const auto port = b.port();
    b.stop();
    const auto killed = clock::now();
    ASSERT_TRUE(gh.wait_for_log("b down:", 5s)) << "b was not marked down";

    auto& b2 = add_upstream(upstream_options{.name = "b", .port = port});
    const auto took = time_to_log(gh, "b up: 2 consecutive passes", 5s);
    ASSERT_TRUE(took) << "the restarted b was not marked up";
    const auto bound = rise * check_interval + margin;
    std::cout << "restarted node marked up after " << took->count() << " ms (bound " << bound.count() << " ms)\n";
    EXPECT_LE(*took, bound);
    EXPECT_TRUE(b2.wait_for_requests(50, 3s)) << "the restarted b gets no traffic; it got " << b2.requests();
    load.stop();
    expect_no_failure_after_kill(load, killed, "b");
}

// A node that accepts its health check but never answers it is marked down (timeouts), and gets no requests.
TEST_F(HealthCheck, NodeHangingOnHealthCheckIsMarkedDown) {
    auto& a = add_upstream("a");
    auto& b = add_upstream("b");
    auto& gh = start_gatehouse({.health_check = fast_checks()});
    b.set_health(health_mode::hang);
    // Each failing check costs interval + timeout.
    ASSERT_TRUE(gh.wait_for_log("b down:", fall * (check_interval + check_timeout) + 2 * margin))
        << "a node hanging on its health check was not marked down";
    EXPECT_NE(gh.log().find("timed out"), std::string::npos) << "the reason names the timeout";
    const auto b_before = b.requests(), a_before = a.requests();
    client_connection c(gh.port());
    for (int i = 0; i < 50; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
        EXPECT_EQ(r.header("X-Node"), "a");
    }
    EXPECT_EQ(b.requests(), b_before) << "the down node still got requests";
    EXPECT_EQ(a.requests(), a_before + 50);
}

// A node answering 500 on the health path is marked down, with the status as the reason, and gets no requests.
TEST_F(HealthCheck, NodeAnswering500OnHealthPathIsMarkedDown) {
    add_upstream("a");
    auto& b = add_upstream("b");
    auto& gh = start_gatehouse({.health_check = fast_checks()});
    b.set_health(health_mode::error500);
    ASSERT_TRUE(gh.wait_for_log("b down: 2 consecutive failures (last: status 500)",
                                fall * check_interval + check_timeout + 2 * margin))
        << "a node answering 500 on its health path was not marked down";
    const auto b_before = b.requests();
    client_connection c(gh.port());
    for (int i = 0; i < 50; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
        EXPECT_EQ(r.header("X-Node"), "a");
    }
    EXPECT_EQ(b.requests(), b_before) << "the down node still got requests";
}

// A node whose port is closed when gatehouse starts never gets a request: 50 GETs are all answered by the live
// node with no connect attempt to the dead one.
TEST_F(HealthCheck, NodeDownAtStartNeverGetsARequest) {
    auto& live = add_upstream("live");
    auto& gh = start_gatehouse({.nodes = {{"dead", closed_address()}, {"live", live.address()}},
                                .health_check = fast_checks()});
    client_connection c(gh.port());
    for (int i = 0; i < 50; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
        EXPECT_EQ(r.header("X-Node"), "live");
    }
    EXPECT_EQ(live.requests(), 50u);
    EXPECT_TRUE(gh.wait_for_log("dead down:", 3s)) << "the checks did not mark the dead node down";
    EXPECT_EQ(gh.log().find("\": cannot connect to dead"), std::string::npos) << "a request was sent to the dead node";
}

// NocoBase "starting": such a node takes no traffic while another is up and the log says why; with every node
// starting, requests go to a starting node and the client gets its own 503 maintaining JSON (NocoBase's progress);
// a node back to ok serves again.
TEST_F(HealthCheck, StartingNodesTakeNoTrafficAndAllStartingAnswers503) {
    auto& a = add_upstream("a");
    auto& b = add_upstream("b");
    a.set_health(health_mode::starting);
    auto& gh = start_gatehouse({.health_check = fast_checks()});
    EXPECT_TRUE(gh.wait_for_log("a starting: APP_COMMANDING upgrade", 3s));
    {
        client_connection c(gh.port());
        for (int i = 0; i < 20; ++i) {
            c.send(get_request("/?i=" + std::to_string(i)));
            const auto r = c.read_response();
            ASSERT_EQ(r.status, 200u) << r.raw;
            EXPECT_EQ(r.header("X-Node"), "b");
        }
    }
    EXPECT_EQ(a.requests(), 0u) << "a starting node got requests";

    b.set_health(health_mode::starting);
    ASSERT_TRUE(gh.wait_for_log("b starting: APP_COMMANDING upgrade", 3s));
    const auto a_before = a.requests(), b_before = b.requests();
    {
        const auto api = get(gh.port(), "/api/users:list");
        EXPECT_EQ(api.status, 503u) << api.raw;
        EXPECT_NE(api.header("Content-Type").find("application/json"), std::string::npos) << api.raw;
        EXPECT_NE(api.body.find("\"maintaining\":true"), std::string::npos) << api.raw;
        EXPECT_NE(api.body.find("\"message\":\"upgrading\""), std::string::npos) << "not the node's own answer: " << api.raw;
    }
    EXPECT_EQ(a.requests() + b.requests(), a_before + b_before + 1) << "the request did not reach a starting node";

    a.set_health(health_mode::ok);
    ASSERT_TRUE(gh.wait_for_log("a up:", 3s)) << "a did not come back";
    const auto page = get(gh.port(), "/");
    EXPECT_EQ(page.status, 200u) << page.raw;
    EXPECT_EQ(page.header("X-Node"), "a");
    const auto api = get(gh.port(), "/api/users:list");
    EXPECT_EQ(api.status, 200u) << api.raw;
    EXPECT_EQ(api.header("X-Node"), "a");
}

// Passive ejection without active checks: after max_fails (2) failed connects the dead node is ejected, and
// every request is answered 200 by the live node; while ejected, no request tries the dead node.
TEST_F(HealthCheck, PassiveChecksEjectADeadNode) {
    auto& live = add_upstream("live");
    auto& gh = start_gatehouse(
        {.nodes = {{"dead", closed_address()}, {"live", live.address()}},
         .timeouts = {{"upstream_connect", "1s"}},
         .health_check = {{"enabled", "false"}, {"max_fails", "2"}, {"fail_timeout", "\"1s\""}}});
    client_connection c(gh.port());
    const auto start = clock::now();  // the ejection began after this
    for (int i = 0; i < 10; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
        EXPECT_EQ(r.header("X-Node"), "live");
    }
    ASSERT_TRUE(gh.wait_for_log("dead ejected for 1000 ms", 1s)) << "the dead node was not ejected";

    // While the 1 s ejection lasts, requests do not try the dead node.
    const auto tries = occurrences(gh.log(), "\": cannot connect to dead");
    EXPECT_EQ(tries, 2u) << "max_fails = 2 failed connects eject the node";
    for (int i = 0; i < 20; ++i) {
        c.send(get_request("/?during=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw;
    }
    if (clock::now() - start < 900ms) {
        EXPECT_EQ(occurrences(gh.log(), "\": cannot connect to dead"), tries) << "an ejected node was tried";
    }
    EXPECT_EQ(live.requests(), 30u);
}

// Failed requests can eject every node at once (here each answers one 500 with fail_on_5xx and max_fails = 1),
// while the active checks still see every node up. Then the ejections are ignored: requests go to the nodes
// instead of a 503 "no node is up" for every client.
TEST_F(HealthCheck, EjectionOfEveryUpNodeIsIgnored) {
    auto& a = add_upstream("a");
    auto& b = add_upstream("b");
    auto& gh = start_gatehouse(
        {.health_check = fast_checks({{"max_fails", "1"}, {"fail_on_5xx", "true"}})});
    client_connection c(gh.port());
    for (int i = 0; i < 2; ++i) {
        c.send(get_request("/status/500"));
        EXPECT_EQ(c.read_response().status, 500u);
    }
    ASSERT_TRUE(gh.wait_for_log("a ejected for", 2s));
    ASSERT_TRUE(gh.wait_for_log("b ejected for", 2s));
    for (int i = 0; i < 10; ++i) {
        c.send(get_request("/?i=" + std::to_string(i)));
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw;
    }
    EXPECT_EQ(a.requests() + b.requests(), 12u);
    EXPECT_GE(a.requests(), 4u) << "both nodes take requests";
    EXPECT_GE(b.requests(), 4u) << "both nodes take requests";
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {

// A request that gets NocoBase's 503 "maintaining" from a node (a race with the checks: here checks are off,
// so the starting node still counts as up) is sent to another node, whatever its method, when its body is held.
TEST_F(GatehouseTest, NocoBaseStartingAnswerIsRetriedOnAnotherNode) {
    auto& starting = add_upstream("starting");
    auto& ready = add_upstream("ready");
    starting.set_health(health_mode::starting);
    auto& gh = start_gatehouse({.upstream = {{"tries", "2"}}});
    for (int i = 0; i < 10; ++i) {
        const std::string body = "{\"n\":" + std::to_string(i) + "}";
        const auto r = raw_exchange(gh.port(),
                                    "POST /api/posts:create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                                    5s);
        EXPECT_EQ(r.status(), 200u) << r.data;
    }
    EXPECT_EQ(ready.requests(), 10u);
    EXPECT_GE(starting.requests(), 1u);  // it was asked, answered "maintaining", and the request moved on
    EXPECT_NE(gh.log().find("answered 503 APP_COMMANDING upgrade, sending to another node"), std::string::npos) << gh.log();
}

}  // namespace gatehouse::test
