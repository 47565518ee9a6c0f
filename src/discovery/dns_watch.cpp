// The lookup schedule of every watched name; answers kept, failures counted and logged.
#include <gatehouse/discovery/dns_watch.hpp>

#include <gatehouse/log/event_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace gatehouse::discovery {

namespace {

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out.empty() ? "none" : out;
}

}  // namespace

dns_watch::dns_watch(net::io_context& control, const config::resolver_config& cfg, std::vector<watched_name> names,
                     std::function<void()> changed, const dns_watch* previous)
    : control_(control), resolver_(control, cfg), changed_(std::move(changed)) {
    for (auto& w : names) {
        name_status s;
        if (previous)
            for (const auto& old : previous->names_)
                if (old.name.name == w.name) s = old;
        s.name = std::move(w);
        names_.push_back(std::move(s));
        timers_.push_back(std::make_unique<net::steady_timer>(control_));
    }
}

dns_watch::~dns_watch() { stop(); }

void dns_watch::stop() {
    *stopped_ = true;
    for (auto& t : timers_) t->cancel();
}

answers dns_watch::known() const {
    answers out;
    for (const auto& n : names_)
        if (!n.addresses.empty()) out[n.name.name] = n.addresses;
    return out;
}

net::awaitable<bool> dns_watch::lookup(std::size_t index) {
    const auto stopped = stopped_;
    std::string name = names_[index].name.name;  // named: GCC PR 100611
    auto result = co_await resolver_.lookup(std::move(name));
    if (*stopped) co_return false;
    auto& s = names_[index];
    s.looked_up = true;
    if (result.status != lookup_status::ok) {
        ++s.lookups_failed;
        ++s.consecutive_failures;
        s.last_error = result.error;
        log::warning("dns: lookup of " + s.name.name + " failed (" + result.error + "), keeping the last answer: " +
                     joined(s.addresses));
        co_return false;
    }
    ++s.lookups_ok;
    if (s.consecutive_failures > 0) log::info("dns: " + s.name.name + " answers again");
    s.consecutive_failures = 0;
    s.last_error.clear();
    s.last_ok_unix_ms = unix_ms();
    if (result.addresses == s.addresses) co_return false;
    log::info("dns: " + s.name.name + " now " + joined(result.addresses) + " (was " + joined(s.addresses) + ")");
    s.addresses = std::move(result.addresses);
    co_return true;
}

net::awaitable<void> dns_watch::lookup_all_once() {
    auto pending = std::make_shared<std::size_t>(names_.size());
    net::steady_timer latch(control_, std::chrono::steady_clock::time_point::max());
    for (std::size_t i = 0; i < names_.size(); ++i)
        net::co_spawn(control_, lookup(i), [pending, &latch](std::exception_ptr, bool) {
            if (--*pending == 0) latch.cancel();
        });
    if (*pending != 0) co_await latch.async_wait(use_tuple);
}

void dns_watch::start() {
    if (started_) return;
    started_ = true;
    for (std::size_t i = 0; i < names_.size(); ++i) net::co_spawn(control_, loop(i), net::detached);
}

net::awaitable<void> dns_watch::loop(std::size_t index) {
    const auto stopped = stopped_;
    bool due = !names_[index].looked_up;  // a name new to this watch is looked up at once
    for (;;) {
        if (due && co_await lookup(index) && !*stopped) changed_();
        if (*stopped) co_return;
        due = true;
        const auto& s = names_[index];
        auto& timer = *timers_[index];
        timer.expires_after(next_lookup_in(s.name.refresh, s.consecutive_failures));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec || *stopped) co_return;
    }
}

}  // namespace gatehouse::discovery
