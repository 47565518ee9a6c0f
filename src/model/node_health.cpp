// Names of node health states (logs, /api/status, metrics).
#include <gatehouse/model/node_health.hpp>

namespace gatehouse::model {

const char* to_string(node_health h) noexcept {
    switch (h) {
    case node_health::unknown: return "unknown";
    case node_health::starting: return "starting";
    case node_health::up: return "up";
    case node_health::down: return "down";
    }
    return "?";
}

}  // namespace gatehouse::model
