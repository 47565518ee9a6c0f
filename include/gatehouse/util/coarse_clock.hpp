// A cheap monotonic millisecond clock for deadlines (CLOCK_MONOTONIC_COARSE: a few ns, ~4 ms resolution).
#pragma once

#include <cstdint>
#include <ctime>

namespace gatehouse::util {

/// Monotonic milliseconds; only differences mean anything.
inline std::int64_t coarse_now_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

/// Wall-clock milliseconds since the Unix epoch, coarse (CLOCK_REALTIME_COARSE): for log time stamps.
inline std::int64_t coarse_unix_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace gatehouse::util
