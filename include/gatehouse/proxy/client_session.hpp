// Entry point of the data plane: serve one accepted client connection until it closes.
#pragma once

#include <gatehouse/net.hpp>

namespace gatehouse::proxy {

class session_host;

/// Starts serving `socket` on `owner`'s thread (must be called there). The session owns itself and ends when
/// the client leaves, the worker drains, or a deadline passes.
void start_client_session(session_host& owner, tcp::socket&& socket);

}  // namespace gatehouse::proxy
