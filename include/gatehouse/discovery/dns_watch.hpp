// Looks the configured names up again and again on the control thread, keeping each name's last good answer.
#pragma once

#include <gatehouse/discovery/node_set.hpp>
#include <gatehouse/discovery/resolver.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::discovery {

/// What is known of one name, as /api/status and /metrics show it.
struct name_status {
    watched_name name;
    std::vector<std::string> addresses;  ///< the last good answer (kept while lookups fail)
    std::uint64_t lookups_ok = 0;
    std::uint64_t lookups_failed = 0;    ///< errors, timeouts and answers without any address
    unsigned consecutive_failures = 0;
    std::string last_error;              ///< "" once a lookup succeeds
    std::int64_t last_ok_unix_ms = 0;    ///< 0 = never
    bool looked_up = false;              ///< at least one lookup finished
};

/// Every name on its own schedule (refresh; 1 s, 2 s, 4 s... up to refresh after a failure). A failed lookup
/// keeps the last good answer and is logged; `changed` runs (on the control thread) when an answer differs from
/// the last good one. All calls on the control thread.
class dns_watch {
public:
    /// `previous` (a watch being replaced by a reload): names that stay keep their answer and counts.
    dns_watch(net::io_context& control, const config::resolver_config& cfg, std::vector<watched_name> names,
              std::function<void()> changed, const dns_watch* previous = nullptr);
    ~dns_watch();
    dns_watch(const dns_watch&) = delete;
    dns_watch& operator=(const dns_watch&) = delete;

    /// Looks every name up once, concurrently (start-up: before the first snapshot is served).
    net::awaitable<void> lookup_all_once();
    void start();
    void stop();

    /// The last good answer of every name that has one.
    answers known() const;
    const std::vector<name_status>& names() const noexcept { return names_; }

private:
    net::awaitable<bool> lookup(std::size_t index);  ///< true when the answer changed
    net::awaitable<void> loop(std::size_t index);

    net::io_context& control_;
    resolver resolver_;
    std::vector<name_status> names_;
    std::vector<std::unique_ptr<net::steady_timer>> timers_;
    std::function<void()> changed_;
    std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
    bool started_ = false;
};

}  // namespace gatehouse::discovery
