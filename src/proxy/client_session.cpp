// The client session entry point: one code path for every stream type (plain TCP now, TLS later).
#include <gatehouse/proxy/client_session.hpp>

#include "session/client_session.hpp"

#include <gatehouse/log/escaped.hpp>

#include <boost/asio/co_spawn.hpp>

namespace gatehouse::proxy {

void start_client_session(session_host& owner, tcp::socket&& socket) {
    auto session = std::make_shared<detail::client_session<tcp::socket>>(owner, std::move(socket));
    net::co_spawn(owner.context(), [session]() -> net::awaitable<void> { co_await session->run(); },
                  log::on_escape("a client session"));
}

}  // namespace gatehouse::proxy
