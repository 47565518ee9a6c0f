// Socket addresses: their text, v4-mapped normalisation, the listen addresses and the free-address probe.
#include <gatehouse/net/endpoints.hpp>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include <system_error>

namespace gatehouse {

std::string describe(const tcp::endpoint& ep) {
    const auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

net::ip::address unmap_v4(net::ip::address address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    return address;
}

std::vector<tcp::endpoint> listen_endpoints(const config::config& cfg) {
    std::vector<tcp::endpoint> out;
    for (const auto& a : cfg.proxy.listen) out.emplace_back(net::ip::make_address(a.ip), a.port);
    return out;
}

std::vector<tcp::endpoint> tls_listen_endpoints(const config::config& cfg) {
    std::vector<tcp::endpoint> out;
    for (const auto& a : cfg.tls.listen) out.emplace_back(net::ip::make_address(a.ip), a.port);
    return out;
}

void ensure_address_free(const tcp::endpoint& ep) {
    net::io_context scratch(1);
    tcp::acceptor probe(scratch);
    error_code ec;
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && ep.address().is_v6()) probe.set_option(net::ip::v6_only(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) throw std::system_error(ec, "cannot listen on " + describe(ep));
}

}  // namespace gatehouse
