// Moves a configuration's listeners to loopback (`gatehouse demo` without --public).
#include <gatehouse/config/loopback_only.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace gatehouse::config {
namespace {

bool is_loopback(const socket_address& a) {
    if (a.is_v6) {
        in6_addr six{};
        if (::inet_pton(AF_INET6, a.ip.c_str(), &six) != 1) return false;
        if (IN6_IS_ADDR_LOOPBACK(&six)) return true;
        return IN6_IS_ADDR_V4MAPPED(&six) && six.s6_addr[12] == 127;
    }
    in_addr four{};
    return ::inet_pton(AF_INET, a.ip.c_str(), &four) == 1 && (ntohl(four.s_addr) >> 24) == 127;
}

void to_loopback(socket_address& a, std::vector<std::string>& changes) {
    if (is_loopback(a)) return;
    std::string text = a.is_v6 ? "[::1]:" : "127.0.0.1:";
    text += std::to_string(a.port);
    changes.push_back(a.text + " -> " + text);
    a.ip = a.is_v6 ? "::1" : "127.0.0.1";
    a.text = std::move(text);
}

}  // namespace

std::vector<std::string> move_listeners_to_loopback(config& c) {
    std::vector<std::string> changes;
    for (auto& a : c.proxy.listen) to_loopback(a, changes);
    if (c.admin.enabled) to_loopback(c.admin.listen, changes);
    if (c.metrics.own_listener) to_loopback(c.metrics.listen, changes);
    return changes;
}

}  // namespace gatehouse::config
