// Rise/fall hysteresis of one node's active health checks: a pure state machine, no I/O, no clock.
#pragma once

#include <gatehouse/model/node_health.hpp>

#include <cstdint>
#include <string>

namespace gatehouse::health {

/// The health states are the model's (model/node_health.hpp); checks are counted here.
using model::node_health;

/// The outcome of one check.
enum class check_result : std::uint8_t { pass, starting, fail };

/// Counts consecutive results and says when the node's health changes.
/// A node leaves `unknown` on its first passing check (one pass is enough for a node nobody has seen up) or
/// goes down after `fall` failures; afterwards `rise` passes bring it up and `fall` failures take it down.
/// A `starting` answer moves the node to `starting` at once and resets both counters; a starting node comes up on
/// its first pass (NocoBase said it was booting and now says it is ready: no flapping to guard against).
class health_state {
public:
    health_state(unsigned rise, unsigned fall) noexcept : rise_(rise ? rise : 1), fall_(fall ? fall : 1) {}

    /// The same node's state under new rise/fall settings (a reload): health and counts carry over.
    static health_state resume(unsigned rise, unsigned fall, const health_state& old) noexcept {
        health_state s(rise, fall);
        s.passes_ = old.passes_;
        s.failures_ = old.failures_;
        s.health_ = old.health_;
        return s;
    }

    /// Records one check; returns true when health() changed.
    bool observe(check_result r) noexcept;

    node_health health() const noexcept { return health_; }
    unsigned consecutive_passes() const noexcept { return passes_; }
    unsigned consecutive_failures() const noexcept { return failures_; }

private:
    unsigned rise_, fall_;
    unsigned passes_ = 0, failures_ = 0;
    node_health health_ = node_health::unknown;
};

}  // namespace gatehouse::health
