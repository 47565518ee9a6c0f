// Logging an exception that escaped a coroutine.
#include <gatehouse/log/escaped.hpp>

#include <gatehouse/log/event_log.hpp>

#include <string>

namespace gatehouse::log {

void log_escaped(std::exception_ptr e, const char* what) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        error(std::string("bug: exception escaped ") + what + ": " + ex.what());
    }
}

}  // namespace gatehouse::log
