// Last write wins between this replica and Redis; the connection's ups and downs logged and counted.
#include <gatehouse/control/cluster_sync.hpp>

#include <gatehouse/control/controller.hpp>
#include <gatehouse/log/event_log.hpp>

#include <algorithm>

namespace gatehouse::control {

cluster_sync::cluster_sync(net::io_context& control, const config::cluster_config& cfg, operator_state initial,
                           adopt_fn adopt)
    : cfg_(cfg), adopt_(std::move(adopt)) {
    local_.state = std::move(initial);
    status_.name = cfg.name;
    status_.redis = cfg.redis_host + ":" + std::to_string(cfg.redis_port) + "/" + std::to_string(cfg.redis_db);
    status_.since_unix_ms = unix_now_ms();
    cluster::redis_settings s{cfg.redis_host, cfg.redis_port, cfg.redis_user, cfg.redis_password, cfg.redis_db,
                              cfg.key, cfg.channel, store_if_later_script, cfg.timeout};
    s.retry_max = std::max(cfg.retry_max, s.retry_min);
    cluster::redis_events events{
        [this](std::optional<std::string> v) { on_connected(std::move(v)); },
        [this](std::string v) { on_value(v); },
        [this](std::string error, std::chrono::milliseconds retry) { on_down(error, retry); },
    };
    link_ = std::make_unique<cluster::redis_link>(control, std::move(s), std::move(events));
}

void cluster_sync::local_change(const operator_state& state) {
    local_.state = state;
    // Later than anything this replica has seen, even when another replica's clock is ahead of ours.
    local_.stamp = {cfg_.name, std::max(unix_now_ms(), local_.stamp.written_unix_ms + 1)};
    status_.last_write = local_.stamp;
    link_->write(encode(local_));
}

void cluster_sync::set_connection(const char* connection) {
    if (status_.connection == connection) return;
    status_.connection = connection;
    status_.since_unix_ms = unix_now_ms();
}

void cluster_sync::on_connected(std::optional<std::string> value) {
    const bool was_down = status_.connection == "unreachable";
    set_connection("connected");
    contacted_ = true;
    log::info("cluster: connected to Redis at " + status_.redis + " (key " + cfg_.key + ", channel " + cfg_.channel +
              ")" + (was_down ? ": reconciling the operator state (the last write wins)" : ""));
    if (value) {
        std::string error;
        auto remote = decode_record(*value, error);
        if (!remote) log::warning("cluster: Redis key " + cfg_.key + " does not hold a gatehouse state (" + error + "): replacing it");
        else if (later(remote->stamp, local_.stamp)) return on_value(*value);
        else if (!later(local_.stamp, remote->stamp)) return;  // the same write
    }
    link_->write(encode(local_));  // no key, or ours is later (changed while Redis was unreachable)
}

void cluster_sync::on_value(const std::string& text) {
    std::string error;
    auto remote = decode_record(text, error);
    if (!remote) {
        log::warning("cluster: ignored a message on " + cfg_.channel + " that is not a gatehouse state: " + error);
        return;
    }
    if (!later(remote->stamp, local_.stamp)) return;  // ours, or older than what we have
    local_ = std::move(*remote);
    status_.last_write = local_.stamp;
    ++status_.updates_received;
    adopt_(local_);
}

void cluster_sync::on_down(const std::string& error, std::chrono::milliseconds retry_in) {
    const bool was = status_.connection != "unreachable";
    set_connection("unreachable");
    contacted_ = true;
    ++status_.failures;
    status_.last_error = error;
    status_.retry_in_ms = retry_in.count();
    // Every transition is logged; while it stays down, one line in ten (the delay grows to retry_max).
    if (was || status_.failures % 10 == 0)
        log::warning("cluster: Redis at " + status_.redis + " unreachable (" + error +
                     "): serving with the last known operator state; next attempt in " +
                     std::to_string(retry_in.count()) + " ms (" + std::to_string(status_.failures) + " failure(s))");
}

}  // namespace gatehouse::control
