// Human units in the configuration file: durations ("500ms", "2s", "1m", "1h") and sizes ("16KiB", "1GiB").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gatehouse::config {

/// "0", "250ms", "10s", "5m", "1h" (one unit, integer amount). Returns nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// "0", "512", "512B", "16KiB", "1MiB", "1GiB" (also "k"/"KB" = 1000-multiples). Returns nullopt when malformed or overflowing.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace gatehouse::config
