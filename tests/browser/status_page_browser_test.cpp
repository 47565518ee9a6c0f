// The admin status page in a real browser: Debian's headless Chromium, driven through chromedriver's WebDriver
// protocol, against a real gatehouse with an admin token and two test nodes on 127.0.0.1 ephemeral ports.
// Installs nothing: fails (does not skip) when Chromium or chromedriver is missing (deploy/setup.sh installs them).
#include "webdriver.hpp"

#include "integration/admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "support/socket_util.hpp"

#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#if !defined(GATEHOUSE_BROWSER_ARTIFACT_DIR) || !defined(GATEHOUSE_SOURCE_DIR)
#error "GATEHOUSE_BROWSER_ARTIFACT_DIR (where screenshots go) and GATEHOUSE_SOURCE_DIR must be defined"
#endif

namespace gatehouse::test {
namespace {
namespace json = boost::json;

json::object api_status(const gatehouse_process& g) {
    const auto r = admin_call(g, "GET", "/api/status");
    if (r.status != 200) throw std::runtime_error("/api/status answered " + std::to_string(r.status) + ": " + r.body);
    return json::parse(r.body).as_object();
}

const json::object& node_json(const json::object& status, std::string_view name) {
    for (const auto& n : status.at("nodes").as_array())
        if (n.as_object().at("name").as_string() == name) return n.as_object();
    throw std::runtime_error("no node " + std::string(name) + " in /api/status");
}

std::string str(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_null()) return "";
    return json::serialize(v);
}

/// What the page's node table shows, read from the rendered DOM (innerText: what a user sees).
constexpr const char* read_table_script = R"js(
  const rows = [...document.querySelectorAll('#nodes tbody tr')];
  return rows.map(tr => {
    const cell = c => { const td = tr.querySelector('td.' + c); return td ? td.innerText.trim() : null; };
    return {
      node: tr.dataset.node, name: cell('c-name'), address: cell('c-address'), state: cell('c-state'),
      health: cell('c-health'), admin: cell('c-admin'), weight: cell('c-weight'), in_flight: cell('c-inflight'),
      websockets: cell('c-websockets'),
      rps: cell('c-rps'), eps: cell('c-eps'), check: cell('c-check'), detail: cell('c-check-detail'),
      checked: cell('c-check-at'),
      history: [...tr.querySelectorAll('td.c-history .history i')].map(i => i.className),
      visible: tr.getBoundingClientRect().height > 0
    };
  });
)js";

/// A stand-in for the admin API whose /api/status carries the per-node counters requests_total and errors_total
/// (growing 100/s and 5/s on node1; absent on node2), to check the rates the page computes from successive polls.
/// Serves the page itself from src/admin/status_page.html (the unit tests check the binary embeds exactly it).
class scripted_admin {
public:
    scripted_admin() {
        std::ifstream in(GATEHOUSE_SOURCE_DIR "/src/admin/status_page.html", std::ios::binary);
        page_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (page_.empty()) throw std::runtime_error("cannot read src/admin/status_page.html");
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("scripted_admin: cannot listen");
        port_ = ntohs(addr.sin_port);
        restart();
        thread_ = std::thread([this] { serve(); });
    }
    ~scripted_admin() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    std::uint16_t port() const noexcept { return port_; }
    /// A new process: new start time, counters from 0.
    void restart() {
        std::lock_guard lock(m_);
        epoch_ = std::chrono::steady_clock::now();
        ++generation_;
    }
    int status_calls() const noexcept { return status_calls_; }

private:
    std::string status_json() {
        std::lock_guard lock(m_);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count();
        auto node = [](const char* name, const char* address) {
            return json::object{{"name", name}, {"address", address}, {"weight", 1}, {"state", "up"},
                                {"health", "up"}, {"admin", "active"}, {"pinned", false}, {"takes_traffic", true},
                                {"in_flight", 0}, {"ejected", false}, {"consecutive_failed_requests", 0},
                                {"checks_paused", false}, {"last_check", nullptr}, {"check_history", json::array{}}};
        };
        auto node1 = node("node1", "127.0.0.1:1");
        node1["requests_total"] = static_cast<std::int64_t>(100 * seconds);
        node1["errors_total"] = static_cast<std::int64_t>(5 * seconds);
        json::object status{{"version", "0.1.0"},
                            {"started_at", "2026-01-01T00:00:0" + std::to_string(generation_ % 10) + "Z"},
                            {"uptime_seconds", static_cast<std::int64_t>(seconds)}, {"workers", 1},
                            {"requests_total", static_cast<std::int64_t>(100 * seconds)},
                            {"errors_total", static_cast<std::int64_t>(5 * seconds)},
                            {"generation", 1}, {"client_connections", 0}, {"balance", "round_robin"},
                            {"maintenance", {{"enabled", false}, {"reason", ""}, {"since", nullptr},
                                             {"verify_node", nullptr}}},
                            {"pinned_node", nullptr},
                            {"reloads", {{"succeeded", 0}, {"failed", 0}, {"last_success", nullptr}}},
                            {"nodes", json::array{node1, node("node2", "127.0.0.1:2")}}};
        return json::serialize(status);
    }

    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            std::string head;
            const auto deadline = std::chrono::steady_clock::now() + 2s;
            char buffer[4096];
            while (head.find("\r\n\r\n") == std::string::npos && wait_readable(c, deadline)) {
                const auto n = ::recv(c, buffer, sizeof buffer, 0);
                if (n <= 0) break;
                head.append(buffer, static_cast<std::size_t>(n));
            }
            std::string type = "application/json", body;
            unsigned status = 200;
            if (head.starts_with("GET / ")) {
                type = "text/html; charset=utf-8";
                body = page_;
            } else if (head.starts_with("GET /api/status ")) {
                ++status_calls_;
                body = status_json();
            } else {
                status = 404;
                body = R"({"error":"not scripted"})";
            }
            send_all(c, "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
                            "\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
            ::close(c);
        }
    }

    std::string page_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> status_calls_{0};
    std::mutex m_;
    std::chrono::steady_clock::time_point epoch_;
    int generation_ = 0;
    std::thread thread_;
};

class StatusPageBrowser : public GatehouseTest {
protected:
    void SetUp() override {
        // A missing browser is a failure, not a skip: CI must run this test.
        const auto chromium = chromium_path(), driver = chromedriver_path();
        ASSERT_EQ(::access(chromium.c_str(), X_OK), 0)
            << chromium << " is missing: install Debian's chromium and chromium-driver (deploy/setup.sh test does)";
        ASSERT_EQ(::access(driver.c_str(), X_OK), 0)
            << driver << " is missing: install Debian's chromium-driver (deploy/setup.sh test does)";

        char dir_template[] = "/tmp/gatehouse-browser-XXXXXX";
        ASSERT_NE(::mkdtemp(dir_template), nullptr);
        dir_ = dir_template;
        driver_ = std::make_unique<chromedriver_process>(driver, dir_ + "/chromedriver.log");

        json::array args{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1500,900",
                         json::string("--user-data-dir=" + dir_ + "/profile")};
        json::object caps{{"browserName", "chrome"},
                          {"goog:chromeOptions", {{"binary", chromium}, {"args", std::move(args)}}},
                          {"timeouts", {{"pageLoad", 20000}, {"script", 10000}, {"implicit", 0}}},
                          {"unhandledPromptBehavior", "ignore"}};
        session_ = std::make_unique<webdriver_session>(driver_->port(), std::move(caps));
    }

    void TearDown() override {
        if (HasFailure() && session_) {
            try {
                save_screenshot("status_page_failure.png");
                std::cerr << "page text at failure:\n"
                          << str(session_->execute("return document.body.innerText;")) << "\n";
            } catch (const std::exception& e) {
                std::cerr << "no failure screenshot: " << e.what() << "\n";
            }
        }
        session_.reset();
        driver_.reset();
        if (HasFailure() && !dir_.empty()) {
            std::ifstream log(dir_ + "/chromedriver.log");
            std::string line, tail;
            while (std::getline(log, line)) {
                tail += line + "\n";
                if (tail.size() > 8000) tail.erase(0, tail.size() - 6000);
            }
            std::cerr << "---- chromedriver log (tail):\n" << tail << "---- end\n";
        }
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
        GatehouseTest::TearDown();
    }

    std::string save_screenshot(const std::string& name) {
        const auto png = session_->screenshot_png();
        const std::string path = std::string(GATEHOUSE_BROWSER_ARTIFACT_DIR) + "/" + name;
        std::ofstream(path, std::ios::binary | std::ios::trunc).write(png.data(), static_cast<std::streamsize>(png.size()));
        std::cout << "screenshot: " << path << " (" << png.size() << " bytes)" << std::endl;
        return png;
    }

    /// Text of the element `css`, "" when it is absent or hidden.
    std::string visible_text(const std::string& css) {
        const auto v = session_->execute(
            "const e = document.querySelector(arguments[0]);"
            "return e && !e.hidden && e.getClientRects().length ? e.innerText : '';",
            json::array{json::string(css)});
        return str(v);
    }

    json::array table() { return session_->execute(read_table_script).as_array(); }

    /// Clicks the maintenance button, checks the confirmation dialog and accepts it.
    void click_toggle_and_confirm(std::string_view expected_question) {
        session_->click(session_->find("#maint-toggle"));
        std::string question;
        ASSERT_TRUE(wait_until([&] { return session_->alert_open(question); }, 5s, 50ms))
            << "no confirmation dialog after clicking the maintenance button";
        EXPECT_NE(question.find(expected_question), std::string::npos) << question;
        session_->accept_alert();
    }

    std::string dir_;
    std::unique_ptr<chromedriver_process> driver_;
    std::unique_ptr<webdriver_session> session_;
};

TEST_F(StatusPageBrowser, ShowsTheRealStateAndTogglesMaintenance) {
    const auto started = std::chrono::steady_clock::now();
    add_upstream("node1");
    add_upstream("node2");
    // One health check per node at start, then none for an hour: the state and check history the page shows
    // cannot change between its poll and ours.
    auto& gh = start_gatehouse({.health_check = {{"enabled", "true"}, {"interval", "\"1h\""}},
                                .admin_token = std::string(admin_token)});
    ASSERT_TRUE(wait_until(
        [&] {
            const auto s = api_status(gh);
            return node_json(s, "node1").at("state") == "up" && node_json(s, "node2").at("state") == "up";
        },
        10s, 50ms))
        << "the nodes did not come up";
    ASSERT_EQ(admin_call(gh, "POST", "/api/nodes/node2/drain").status, 200u);

    const std::string url = "http://127.0.0.1:" + std::to_string(gh.admin_port()) + "/";
    session_->navigate(url);
    EXPECT_EQ(str(session_->execute("return document.title;")), "gatehouse status");

    // Without the token the page says so clearly.
    ASSERT_TRUE(wait_until([&] { return visible_text("#error").find("401") != std::string::npos; }, 10s, 50ms))
        << "no 401 shown without a token; error banner: '" << visible_text("#error") << "'";
    EXPECT_NE(visible_text("#error").find("admin token"), std::string::npos) << visible_text("#error");

    // A wrong token: still 401.
    session_->send_keys(session_->find("#token"), "not-the-token");
    session_->click(session_->find("#token-save"));
    ASSERT_TRUE(wait_until([&] { return visible_text("#error").find("401") != std::string::npos &&
                                        visible_text("#token-state") == "token set"; }, 10s, 50ms));
    EXPECT_TRUE(table().empty()) << "nodes shown without a valid token";

    // The right token: the table fills and the error goes away.
    session_->send_keys(session_->find("#token"), std::string(admin_token));
    session_->click(session_->find("#token-save"));
    ASSERT_TRUE(wait_until([&] { return table().size() == 2 && visible_text("#error").empty(); }, 10s, 50ms))
        << "table rows: " << json::serialize(table()) << " error: '" << visible_text("#error") << "'";
    EXPECT_EQ(str(session_->execute("return sessionStorage.getItem('gatehouse.adminToken');")), admin_token);

    // Rates: from the counters of two polls (2 s apart). Some traffic, all to node1 (node2 drains): node1's rate
    // goes above 0 for a poll, node2's stays 0.
    const auto status = api_status(gh);
    ASSERT_TRUE(node_json(status, "node1").contains("requests_total")) << "/api/status has no per-node counters";
    for (int i = 0; i < 10; ++i) EXPECT_EQ(get(gh.port(), "/").status, 200u);
    const auto positive = [](const std::string& r) { return !r.empty() && r[0] >= '0' && r[0] <= '9' && std::stod(r) > 0; };
    EXPECT_TRUE(wait_until([&] { return positive(str(table().at(0).at("rps"))); }, 8s, 50ms)) << json::serialize(table());
    EXPECT_EQ(str(table().at(1).at("rps")), "0.00/s");

    const auto rows = table();
    ASSERT_EQ(rows.size(), 2u);
    const std::regex rate_format(R"(\d+(\.\d+)?/s( \(\d+\.\d%\))?)");
    for (const auto& row_value : rows) {
        const auto& row = row_value.as_object();
        SCOPED_TRACE("row " + json::serialize(row));
        const auto& n = node_json(status, row.at("node").as_string());
        EXPECT_TRUE(row.at("visible").as_bool());
        EXPECT_EQ(str(row.at("name")), str(n.at("name")));
        EXPECT_EQ(str(row.at("address")), str(n.at("address")));
        EXPECT_EQ(str(row.at("state")), str(n.at("state")));
        EXPECT_EQ(str(row.at("health")), str(n.at("health")));
        EXPECT_EQ(str(row.at("admin")), str(n.at("admin")));
        EXPECT_EQ(str(row.at("weight")), str(n.at("weight")));
        EXPECT_EQ(str(row.at("in_flight")), str(n.at("in_flight")));
        EXPECT_EQ(str(row.at("websockets")), str(n.at("websockets")));
        const auto& last = n.at("last_check").as_object();
        EXPECT_EQ(str(row.at("check")), str(last.at("result")));
        EXPECT_TRUE(str(row.at("detail")).starts_with(str(last.at("detail")))) << str(last.at("detail"));
        EXPECT_TRUE(str(row.at("checked")).ends_with("ago"));
        const auto& history = n.at("check_history").as_array();
        const auto& strip = row.at("history").as_array();
        ASSERT_EQ(strip.size(), history.size());
        for (std::size_t i = 0; i < history.size(); ++i)
            EXPECT_EQ(str(strip[i]), str(history[i].at("result")) == "pass" ? "pass" : "fail") << i;
        EXPECT_TRUE(std::regex_match(str(row.at("rps")), rate_format));
        EXPECT_TRUE(std::regex_match(str(row.at("eps")), rate_format));
    }
    // The drained node shows as draining, the other as up: the real state, not a default.
    EXPECT_EQ(str(node_json(status, "node2").at("state")), "draining");
    EXPECT_EQ(str(rows.at(1).at("node")), "node2");
    EXPECT_EQ(str(rows.at(1).at("state")), "draining");
    EXPECT_EQ(str(rows.at(0).at("state")), "up");

    // Maintenance on through the button, with a reason typed into the page.
    EXPECT_EQ(visible_text("#m-state"), "off");
    EXPECT_EQ(visible_text("#maint-toggle"), "Turn maintenance on");
    const std::string reason = "browser test " + unique_marker();
    session_->send_keys(session_->find("#maint-reason"), reason);
    click_toggle_and_confirm("Turn maintenance on?");
    ASSERT_TRUE(wait_until([&] { return api_status(gh).at("maintenance").at("enabled") == true; }, 10s, 50ms))
        << "maintenance is not on after the click";
    EXPECT_EQ(str(api_status(gh).at("maintenance").at("reason")), reason);
    ASSERT_TRUE(wait_until([&] { return visible_text("#m-state") == "ON"; }, 10s, 50ms));
    EXPECT_EQ(visible_text("#m-reason"), reason);
    EXPECT_NE(visible_text("#m-since"), "\u2013");
    EXPECT_EQ(visible_text("#maint-toggle"), "Turn maintenance off");
    EXPECT_EQ(visible_text("#maint-result"), "Maintenance on.");
    // And visitors really get the maintenance answer.
    EXPECT_EQ(get(gh.port(), "/").status, 503u);
    save_screenshot("status_page.png");

    // Off again.
    click_toggle_and_confirm("Turn maintenance off?");
    ASSERT_TRUE(wait_until([&] { return api_status(gh).at("maintenance").at("enabled") == false; }, 10s, 50ms))
        << "maintenance is still on after the second click";
    ASSERT_TRUE(wait_until([&] { return visible_text("#m-state") == "off"; }, 10s, 50ms));
    EXPECT_EQ(visible_text("#maint-toggle"), "Turn maintenance on");
    EXPECT_EQ(get(gh.port(), "/").status, 200u);

    std::cout << "browser test body took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
              << " ms" << std::endl;
}

TEST_F(StatusPageBrowser, WorksWithoutATokenWhenNoneIsConfigured) {
    // No admin token: gatehouse serves loopback clients only, and the page needs nothing typed in.
    auto& node = add_upstream("node1");
    auto& gh = start_gatehouse({.health_check = {{"enabled", "true"}, {"interval", "\"1h\""}}});
    ASSERT_EQ(admin_call(gh, "GET", "/api/status", {}, "").status, 200u);
    session_->navigate("http://127.0.0.1:" + std::to_string(gh.admin_port()) + "/");
    ASSERT_TRUE(wait_until([&] { return table().size() == 1 && str(table().at(0).at("check")) == "pass"; }, 10s, 50ms))
        << json::serialize(table()) << " error: '" << visible_text("#error") << "'";
    EXPECT_EQ(visible_text("#error"), "");
    EXPECT_EQ(visible_text("#token-state"), "no token");
    EXPECT_EQ(str(table().at(0).at("state")), "up");
    EXPECT_EQ(str(table().at(0).at("address")), node.address());
}

TEST_F(StatusPageBrowser, ShowsWhyTheToggleFailed) {
    add_upstream("node1");
    auto& gh = start_gatehouse({.admin_token = std::string(admin_token)});
    session_->navigate("http://127.0.0.1:" + std::to_string(gh.admin_port()) + "/");
    session_->send_keys(session_->find("#token"), std::string(admin_token));
    session_->click(session_->find("#token-save"));
    ASSERT_TRUE(wait_until([&] { return table().size() == 1 && visible_text("#m-state") == "off"; }, 10s, 50ms));

    // The operator switches to a wrong token; the page still shows the last state, so the button is there.
    session_->send_keys(session_->find("#token"), "wrong-token");
    session_->click(session_->find("#token-save"));
    ASSERT_TRUE(wait_until([&] { return visible_text("#error").find("401") != std::string::npos; }, 10s, 50ms));
    EXPECT_EQ(session_->execute("return document.body.classList.contains('stale');"), true)
        << "the last state is not marked as stale";
    click_toggle_and_confirm("Turn maintenance on?");
    ASSERT_TRUE(wait_until([&] { return !visible_text("#maint-result").empty(); }, 10s, 50ms));
    const auto result = visible_text("#maint-result");
    EXPECT_TRUE(result.starts_with("Could not turn maintenance on: 401")) << result;
    EXPECT_NE(result.find("token"), std::string::npos) << result;
    EXPECT_EQ(api_status(gh).at("maintenance").at("enabled"), false);
}

TEST_F(StatusPageBrowser, ComputesRatesFromSuccessivePolls) {
    scripted_admin admin;
    session_->navigate("http://127.0.0.1:" + std::to_string(admin.port()) + "/");
    // The first poll has nothing to compare with: a dash.
    ASSERT_TRUE(wait_until([&] { return table().size() == 2; }, 10s, 50ms));
    EXPECT_EQ(str(table().at(0).at("rps")), "\u2013");
    // From the second poll on: node1's counters grow 100/s and 5/s (5% of its requests); node2 has none.
    const std::regex rate(R"((\d+(?:\.\d+)?)/s)"), errors(R"((\d+(?:\.\d+)?)/s \((\d+\.\d)%\))");
    std::smatch m;
    ASSERT_TRUE(wait_until([&] { return str(table().at(0).at("rps")) != "\u2013"; }, 10s, 50ms));
    const auto row = table().at(0).as_object();
    const auto rps = str(row.at("rps")), eps = str(row.at("eps"));
    ASSERT_TRUE(std::regex_match(rps, m, rate)) << rps;
    const double requests_per_second = std::stod(m[1]);
    EXPECT_NEAR(requests_per_second, 100.0, 15.0) << rps;
    ASSERT_TRUE(std::regex_match(eps, m, errors)) << eps;
    const double errors_per_second = std::stod(m[1]), share = std::stod(m[2]);
    // The counters are whole numbers: over ~2 s, 10 ± 1 errors of 200 ± 1 requests.
    EXPECT_NEAR(errors_per_second, 5.0, 1.0) << eps;
    EXPECT_NEAR(share, 5.0, 0.8) << eps;
    EXPECT_NEAR(share, 100.0 * errors_per_second / requests_per_second, 0.15) << "share of " << eps << " vs " << rps;
    const auto total = visible_text("#f-rps");
    ASSERT_TRUE(std::regex_match(total, m, rate)) << total;
    EXPECT_NEAR(std::stod(m[1]), 100.0, 15.0) << "the header's total: " << total;
    EXPECT_EQ(str(table().at(1).at("rps")), "\u2013") << "node2 reports no counters";
    EXPECT_EQ(str(table().at(1).at("eps")), "\u2013");

    // gatehouse restarted (new start time, counters from 0): no negative rate, a dash until the next poll.
    const int calls = admin.status_calls();
    admin.restart();
    ASSERT_TRUE(wait_until([&] { return admin.status_calls() > calls; }, 10s, 20ms));
    ASSERT_TRUE(wait_until([&] { return str(table().at(0).at("rps")) == "\u2013"; }, 5s, 20ms))
        << json::serialize(table());
    ASSERT_TRUE(wait_until([&] { return str(table().at(0).at("rps")) != "\u2013"; }, 10s, 50ms));
    const auto again = str(table().at(0).at("rps"));
    ASSERT_TRUE(std::regex_match(again, m, rate)) << again;
    EXPECT_NEAR(std::stod(m[1]), 100.0, 15.0) << again;
}

}  // namespace
}  // namespace gatehouse::test
