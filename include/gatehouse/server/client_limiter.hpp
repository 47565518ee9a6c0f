// Open client connections per client address (limits.max_connections_per_client), counted across all workers.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace gatehouse::server {

/// A map from client address to open connections behind one mutex, touched only when a connection is accepted and
/// when it closes (two short critical sections per connection, none per request; nothing at all while the limit
/// is off). Addresses are keys of raw bytes (16 for IPv6, IPv4 as v4-mapped IPv6).
class client_limiter {
public:
    /// One counted connection; gives its place back when destroyed. Empty (counts nothing) when default-made.
    class slot {
    public:
        slot() = default;
        slot(slot&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
        slot& operator=(slot&& o) noexcept {
            if (this != &o) {
                reset();
                owner_ = std::exchange(o.owner_, nullptr);
                key_ = std::move(o.key_);
            }
            return *this;
        }
        ~slot() { reset(); }
        void reset() noexcept {
            if (owner_) std::exchange(owner_, nullptr)->release(key_);
        }
        bool counted() const noexcept { return owner_ != nullptr; }

    private:
        friend class client_limiter;
        slot(client_limiter* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
        client_limiter* owner_ = nullptr;
        std::string key_;
    };

    /// A slot for `key` unless it already has `cap` connections (then nullopt). cap = 0: no limit, an empty slot.
    std::optional<slot> acquire(std::string_view key, std::uint64_t cap);

    /// Connections counted for `key` now.
    std::uint64_t count(std::string_view key) const;
    /// Addresses with at least one counted connection.
    std::size_t addresses() const;

    /// The process-wide instance the workers share.
    static client_limiter& shared();

private:
    void release(const std::string& key) noexcept;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::uint64_t> counts_;
};

}  // namespace gatehouse::server
