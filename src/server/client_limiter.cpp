// Open client connections per client address (limits.max_connections_per_client), counted across all workers.
#include <gatehouse/server/client_limiter.hpp>

namespace gatehouse::server {

std::optional<client_limiter::slot> client_limiter::acquire(std::string_view key, std::uint64_t cap) {
    if (cap == 0) return slot{};
    std::string k(key);
    {
        std::lock_guard lock(mutex_);
        auto& n = counts_[k];  // a new entry starts at 0 < cap, so no empty entry stays behind
        if (n >= cap) return std::nullopt;
        ++n;
    }
    return slot(this, std::move(k));
}

void client_limiter::release(const std::string& key) noexcept {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(key);
    if (it == counts_.end()) return;
    if (--it->second == 0) counts_.erase(it);  // an address with no connection costs nothing
}

std::uint64_t client_limiter::count(std::string_view key) const {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(std::string(key));
    return it == counts_.end() ? 0 : it->second;
}

std::size_t client_limiter::addresses() const {
    std::lock_guard lock(mutex_);
    return counts_.size();
}

client_limiter& client_limiter::shared() {
    static client_limiter instance;
    return instance;
}

}  // namespace gatehouse::server
