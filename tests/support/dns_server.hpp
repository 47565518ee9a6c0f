// A small authoritative DNS server on 127.0.0.1 (UDP, a port of its own) whose answers a test changes while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::test {

/// Answers A queries from the records set(), AAAA queries with no record (NOERROR), unknown names with NXDOMAIN,
/// and everything with SERVFAIL while failing(true). One thread; stops (and joins) when destroyed.
class dns_server {
public:
    dns_server();  ///< throws std::runtime_error when it cannot bind
    ~dns_server();
    dns_server(const dns_server&) = delete;
    dns_server& operator=(const dns_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1:<port>", for [resolver] servers.
    std::string address() const;

    /// The IPv4 addresses `name` answers from now on (an empty list: NXDOMAIN).
    void set(const std::string& name, std::vector<std::string> ipv4);
    /// While true every query is answered SERVFAIL.
    void failing(bool on) noexcept { failing_ = on; }
    /// Queries answered so far.
    std::size_t queries() const noexcept { return queries_; }

private:
    void serve();
    std::string answer(const std::string& query);

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::string>> records_;
    std::atomic<bool> failing_{false};
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> queries_{0};
    std::thread thread_;
};

}  // namespace gatehouse::test
