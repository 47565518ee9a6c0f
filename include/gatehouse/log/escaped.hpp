// Logging an exception that escaped a coroutine: always a bug, never a reason to stop serving.
#pragma once

#include <exception>

namespace gatehouse::log {

/// Logs "bug: exception escaped <what>: <message>" as an error when `e` holds a std::exception; nothing when empty.
void log_escaped(std::exception_ptr e, const char* what);

/// A completion handler for co_spawn that logs what escaped the coroutine (`what` names it, e.g. "the tick").
inline auto on_escape(const char* what) {
    return [what](std::exception_ptr e) { log_escaped(e, what); };
}

}  // namespace gatehouse::log
