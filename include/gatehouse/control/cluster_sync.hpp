// Replicas that agree: this replica's operator state kept in step with the record in Redis (last write wins).
#pragma once

#include <gatehouse/cluster/redis_link.hpp>
#include <gatehouse/config/config.hpp>
#include <gatehouse/control/cluster_record.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace gatehouse::control {

/// What /api/status and /metrics show of the link to Redis.
struct cluster_status {
    std::string name;            ///< this replica ([cluster] name)
    std::string redis;           ///< "host:port/db" (no password)
    std::string connection = "connecting";  ///< "connecting", "connected" or "unreachable"
    std::int64_t since_unix_ms = 0;         ///< when `connection` last changed
    std::string last_error;      ///< why Redis was last unreachable ("" = never)
    std::int64_t retry_in_ms = 0;            ///< while unreachable: the delay before the next attempt
    std::uint64_t failures = 0;  ///< connection attempts that failed and connections lost
    std::uint64_t updates_received = 0;  ///< changes made on other replicas and applied here
    write_stamp last_write;      ///< who wrote the state this replica has, and when
};

/// Owns the Redis link and decides, on the control thread, which of two states is later. Local changes are stamped
/// (this replica, now) and written; a later record from Redis (at connection, published, or winning a write) is
/// handed to `adopt`. While Redis is unreachable the local state stays as it is.
class cluster_sync {
public:
    using adopt_fn = std::function<void(const cluster_record&)>;

    /// Starts connecting at once. `initial` is the state this replica starts with (state file or default), unstamped.
    cluster_sync(net::io_context& control, const config::cluster_config& cfg, operator_state initial, adopt_fn adopt);

    /// An operator changed the state here: stamp and write it.
    void local_change(const operator_state& state);
    /// True once the first connection attempt has ended either way.
    bool contacted() const noexcept { return contacted_; }
    const cluster_status& status() const noexcept { return status_; }

private:
    void on_connected(std::optional<std::string> value);
    void on_value(const std::string& text);
    void on_down(const std::string& error, std::chrono::milliseconds retry_in);
    void set_connection(const char* connection);

    config::cluster_config cfg_;
    cluster_record local_;
    adopt_fn adopt_;
    cluster_status status_;
    bool contacted_ = false;
    std::unique_ptr<cluster::redis_link> link_;  ///< last: its thread starts once everything above exists
};

}  // namespace gatehouse::control
