// The CLI's rule for the admin token: sent only to loopback or to an address given with --admin.
#include <gatehouse/admin/admin_target.hpp>

#include <gatehouse/net/endpoints.hpp>

#include <unistd.h>

namespace gatehouse::admin {

admin_target choose_admin_target(const std::string& explicit_address, const config::socket_address& listen,
                                 bool have_token) {
    if (!explicit_address.empty()) return {explicit_address, have_token, {}};
    error_code ec;
    auto ip = net::ip::make_address(listen.ip, ec);
    if (ec) return {{}, false, "admin.listen '" + listen.text + "' is not a numeric address: give --admin HOST:PORT"};
    if (ip.is_unspecified()) ip = ip.is_v6() ? net::ip::address(net::ip::address_v6::loopback())
                                             : net::ip::address(net::ip::address_v4::loopback());
    ip = unmap_v4(ip);
    std::string address = ip.to_string();
    if (ip.is_v6()) address.insert(0, 1, '[').push_back(']');
    address.append(":").append(std::to_string(listen.port));
    if (ip.is_loopback() || !have_token) return {address, have_token, {}};
    std::string refusal = "admin.listen ";
    refusal.append(listen.text)
        .append(" is not a loopback address: the admin token is sent there only when asked explicitly (--admin ")
        .append(address)
        .append(")");
    return {{}, false, std::move(refusal)};
}

std::string default_config_path(const std::string& installed) {
    return ::access(installed.c_str(), F_OK) == 0 ? installed : "conf/gatehouse.toml";
}

}  // namespace gatehouse::admin
