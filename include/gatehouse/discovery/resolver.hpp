// Host name lookups with c-ares, driven by the control thread's io_context: nothing blocks, no thread of its own.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/net.hpp>

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::discovery {

/// How a lookup ended.
enum class lookup_status { ok, not_found, failed };

struct lookup_result {
    lookup_status status = lookup_status::failed;
    std::vector<std::string> addresses;  ///< numeric, sorted, no duplicates (empty unless ok)
    std::string error;                   ///< c-ares's text when not ok
};

/// Every A and AAAA record of a name (and /etc/hosts), from [resolver]'s servers or /etc/resolv.conf. All calls on
/// the io_context's thread; lookups in flight end with `failed` when the resolver is destroyed.
class resolver {
public:
    /// Throws std::runtime_error when c-ares cannot start (no memory, unreadable resolv.conf).
    resolver(net::io_context& io, const config::resolver_config& cfg);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    net::awaitable<lookup_result> lookup(std::string name);

private:
    struct watched_socket;
    struct channel_holder;

    static void socket_state(void* self, int fd, int readable, int writable);
    void wait_on(const std::shared_ptr<watched_socket>& s, bool write);
    void arm_timer();

    net::io_context& io_;
    std::unique_ptr<channel_holder> channel_;
    std::map<int, std::shared_ptr<watched_socket>> sockets_;
    net::steady_timer timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gatehouse::discovery
