// The client session entry points: one code path for every stream type (plain TCP and TLS).
#include <gatehouse/proxy/client_session.hpp>

#include "session/client_session.hpp"

#include <gatehouse/tls/server_tls.hpp>

namespace gatehouse::proxy {

void start_client_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer) {
    using session = detail::client_session<tcp::socket>;
    session::start(std::make_shared<session>(owner, std::move(socket), peer));
}

void start_tls_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer,
                       std::shared_ptr<const tls::server_tls> certificates) {
    const tls_io io = owner.snapshot()->config->tls.direct_io ? tls_io::direct : tls_io::asio;
    auto session = std::make_shared<detail::client_session<tls_stream>>(
        owner, tls_stream(std::move(socket), certificates->initial_context(), io), peer);
    session->keep(std::move(certificates));
    detail::client_session<tls_stream>::start(std::move(session));
}

}  // namespace gatehouse::proxy
