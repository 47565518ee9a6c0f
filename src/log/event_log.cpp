// Event log lines to stderr, each written with a single write(2).
#include <gatehouse/log/event_log.hpp>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>
#include <unistd.h>

namespace gatehouse::log {
namespace {
std::atomic<level> min_level{level::info};

const char* name_of(level l) noexcept {
    switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
    }
    return "?";
}
}  // namespace

void set_min_level(level l) noexcept { min_level.store(l, std::memory_order_relaxed); }

void write(level l, std::string_view message) noexcept {
    if (l < min_level.load(std::memory_order_relaxed)) return;
    try {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        char stamp[64];
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", utc.tm_year + 1900, utc.tm_mon + 1,
                      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ts.tv_nsec / 1000000));
        std::string line;
        line.reserve(message.size() + 48);
        line.append(stamp).append(name_of(l)).append(" ").append(message).append("\n");
        ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
        (void)ignored;
    } catch (...) {
        // Logging must never take the process down.
    }
}

}  // namespace gatehouse::log
