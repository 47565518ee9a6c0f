// The event log: levelled, one line per event, to stderr (journald-friendly). Callable from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace gatehouse::log {

enum class level { debug, info, warning, error };

/// Lines below this level are dropped. Set once at start-up, before threads start.
void set_min_level(level l) noexcept;

/// Writes "<time> <level> <message>\n" to stderr with one write(2), so lines from threads never interleave.
void write(level l, std::string_view message) noexcept;

inline void info(std::string_view m) noexcept { write(level::info, m); }
inline void warning(std::string_view m) noexcept { write(level::warning, m); }
inline void error(std::string_view m) noexcept { write(level::error, m); }
inline void debug(std::string_view m) noexcept { write(level::debug, m); }

/// For a line that could repeat on every request or every accept: due() is true at most once per interval.
/// Not thread-safe: one per thread (a worker's).
class every {
public:
    explicit every(std::int64_t interval_ms) noexcept : interval_ms_(interval_ms) {}
    bool due(std::int64_t now_ms) noexcept {
        if (now_ms - last_ms_ < interval_ms_) return false;
        last_ms_ = now_ms;
        return true;
    }

private:
    std::int64_t interval_ms_;
    std::int64_t last_ms_ = std::numeric_limits<std::int64_t>::min() / 2;
};

}  // namespace gatehouse::log
