// Rise/fall counting for active health checks.
#include <gatehouse/health/health_state.hpp>

namespace gatehouse::health {

bool health_state::observe(check_result r) noexcept {
    const node_health before = health_;
    switch (r) {
    case check_result::starting:
        passes_ = failures_ = 0;
        health_ = node_health::starting;
        break;
    case check_result::pass:
        failures_ = 0;
        ++passes_;
        if (health_ == node_health::unknown || health_ == node_health::starting || passes_ >= rise_) health_ = node_health::up;
        break;
    case check_result::fail:
        passes_ = 0;
        ++failures_;
        if (failures_ >= fall_) health_ = node_health::down;
        break;
    }
    return health_ != before;
}

}  // namespace gatehouse::health
