// The event log: levelled, one line per event, to stderr (journald-friendly). Callable from any thread.
#pragma once

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

}  // namespace gatehouse::log
