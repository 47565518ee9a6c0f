// Shared fixture for the integration tests: each test starts its own upstream(s) and its own gatehouse, and a
// failing test prints the tail of the gatehouse log.
#pragma once

#include "support/gatehouse_process.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <stdlib.h>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gatehouse::test {

using namespace std::chrono_literals;

class GatehouseTest : public ::testing::Test {
protected:
    test_upstream& add_upstream(upstream_options options) {
        upstreams_.push_back(std::make_unique<test_upstream>(std::move(options)));
        return *upstreams_.back();
    }
    test_upstream& add_upstream(std::string name) { return add_upstream(upstream_options{.name = std::move(name)}); }

    /// Starts gatehouse; when `options.nodes` is empty, every upstream added so far is a node.
    gatehouse_process& start_gatehouse(gatehouse_options options = {}) {
        if (options.nodes.empty())
            for (const auto& u : upstreams_) options.nodes.push_back({u->name(), u->address()});
        gatehouses_.push_back(std::make_unique<gatehouse_process>(options));
        return *gatehouses_.back();
    }

    /// A port of 127.0.0.1 reserved until the test ends (see reserved_port): for a configuration the test writes
    /// itself, or the address of a node that is down (nothing listens there, so connecting is refused).
    std::uint16_t reserve_port() { return reserved_.emplace_back().port(); }
    /// "127.0.0.1:<a reserved port>": a node address where nothing listens.
    std::string closed_address() { return "127.0.0.1:" + std::to_string(reserve_port()); }

    /// A temporary directory for files a test writes (pages, state files, logs); removed after the test.
    const std::string& scratch_dir() {
        if (scratch_.empty()) {
            std::string templ = "/tmp/gatehouse-test-XXXXXX";
            if (::mkdtemp(templ.data())) scratch_ = templ;
        }
        return scratch_;
    }

    void TearDown() override {
        report_failures();
        if (!scratch_.empty()) std::filesystem::remove_all(scratch_);
    }

    void report_failures() {
        // gatehouse must survive every test that did not stop it on purpose.
        for (const auto& g : gatehouses_) {
            if (g->signalled()) continue;
            if (const auto code = g->exit_code())
                ADD_FAILURE() << "gatehouse (pid " << g->pid() << ") died during the test, exit code " << *code
                              << " (128+6 = SIGABRT, 128+11 = SIGSEGV)";
        }
        if (!HasFailure()) return;
        for (const auto& g : gatehouses_) {
            auto text = g->log();
            if (text.size() > 6000) text = "...\n" + text.substr(text.size() - 6000);
            std::cerr << "---- gatehouse (pid " << g->pid() << ", port " << g->port() << ") config:\n"
                      << g->config_text() << "---- log:\n" << text << "---- end of log\n";
        }
    }

    // Gatehouses are destroyed (killed) before the upstreams they talk to and the ports they listen on.
    std::vector<reserved_port> reserved_;
    std::vector<std::unique_ptr<test_upstream>> upstreams_;
    std::vector<std::unique_ptr<gatehouse_process>> gatehouses_;

private:
    std::string scratch_;
};

/// How many times `needle` occurs in `text` (e.g. a log line).
inline std::size_t occurrences(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

/// A string that occurs nowhere else in this test run, to look for in what a node received.
inline std::string unique_marker(std::string_view prefix = "mk") {
    static std::atomic<unsigned> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return std::string(prefix) + std::to_string(now % 1000000007) + "x" + std::to_string(++counter);
}

inline bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

/// The first line of a raw head, without CRLF.
inline std::string first_line(std::string_view head) { return std::string(head.substr(0, head.find("\r\n"))); }

/// Every value of the field `name` (case-insensitive) in a raw head, in order, trimmed.
inline std::vector<std::string> head_fields(std::string_view head, std::string_view name) {
    std::vector<std::string> values;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
        pos += 2;
        const auto end = head.find("\r\n", pos);
        if (end == std::string_view::npos || end == pos) break;
        const auto line = head.substr(pos, end - pos);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && iequal(line.substr(0, colon), name)) {
            auto value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
            values.emplace_back(value);
        }
        pos = end;
    }
    return values;
}

/// The first value of `name` in a raw head, "" when absent.
inline std::string head_field(std::string_view head, std::string_view name) {
    auto v = head_fields(head, name);
    return v.empty() ? std::string() : v.front();
}

/// A node that dies while it holds a request: a thread that stops `node` once its first request has arrived
/// (waiting at most 5 s). Join it after the request.
inline std::thread stop_after_first_request(test_upstream& node) {
    return std::thread([&node] {
        node.wait_for_requests(1, std::chrono::seconds(5));
        node.stop();
    });
}

/// A simple GET request head.
inline std::string get_request(std::string_view target, std::string_view extra_headers = {},
                               std::string_view host = "localhost") {
    std::string r = "GET ";
    r.append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n").append(extra_headers).append("\r\n");
    return r;
}

}  // namespace gatehouse::test
