// The connection to the Redis server replicas share their state through: its own thread, events posted back.
#pragma once

#include <gatehouse/net.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace gatehouse::cluster {

/// Where the shared value lives and how to reach it.
struct redis_settings {
    std::string host;
    std::uint16_t port = 6379;
    std::string user, password;  ///< password "" = no AUTH
    unsigned db = 0;
    std::string key, channel;
    std::string store_script;     ///< Lua: KEYS[1] key, KEYS[2] channel, ARGV[1] value; returns the key's value after
    std::chrono::milliseconds timeout{1000};    ///< connecting and each command
    std::chrono::milliseconds retry_min{250};   ///< first reconnect delay; doubles after each failure
    std::chrono::milliseconds retry_max{5000};
};

/// What the link reports, each called on the control executor.
struct redis_events {
    /// Connected (again) and subscribed; `value` is what the key held then (nullopt: no key).
    std::function<void(std::optional<std::string> value)> connected;
    /// A value published on the channel, or the key's value after one of our writes.
    std::function<void(std::string value)> value;
    /// The connection failed or was lost (`error` says how); the next attempt is in `retry_in`.
    std::function<void(std::string error, std::chrono::milliseconds retry_in)> down;
};

/// Talks to Redis with hiredis's blocking API on a thread of its own, so neither the control thread nor a worker
/// ever waits for Redis. It connects twice (commands; the subscription), reconnects with backoff, and keeps one
/// write pending at a time (a newer one replaces it). Created and destroyed on the control thread.
class redis_link {
public:
    redis_link(net::io_context& control, redis_settings settings, redis_events events);
    ~redis_link();  ///< stops the thread; events not yet delivered are dropped
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    /// Stores `value` with the store script (when connected; while down it is dropped: on the next connection the
    /// owner compares and writes again).
    void write(std::string value);

private:
    struct contexts;
    void run();
    std::string session(bool& reached);
    std::string serve(contexts& c);
    std::optional<std::string> take_pending();
    void wait_wake(std::chrono::milliseconds timeout);
    void drain_wake() const;
    void post(std::function<void()> f);

    net::io_context& control_;
    const redis_settings settings_;
    const redis_events events_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  ///< posted events run only while it lives
    std::mutex mutex_;
    std::optional<std::string> pending_;  ///< guarded by mutex_
    bool stop_ = false;                    ///< guarded by mutex_
    int wake_[2] = {-1, -1};               ///< a pipe: written to wake the thread from poll()
    std::thread thread_;
};

}  // namespace gatehouse::cluster
