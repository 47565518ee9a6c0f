// Parsing of the human units used in the configuration file: durations and byte sizes.
#include <gatehouse/config/units.hpp>

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace gatehouse::config {

namespace {

/// Splits "250ms" into 250 and "ms". Requires at least one leading digit; no sign, no spaces, no fraction.
std::optional<std::pair<std::uint64_t, std::string_view>> split_amount(std::string_view text) {
    std::uint64_t amount = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
    auto [rest, ec] = std::from_chars(begin, end, amount);
    if (ec != std::errc{}) return std::nullopt;  // includes out-of-range
    return std::pair{amount, std::string_view(rest, static_cast<std::size_t>(end - rest))};
}

/// amount * factor, or nullopt when it does not fit in `limit`.
std::optional<std::uint64_t> scaled(std::uint64_t amount, std::uint64_t factor, std::uint64_t limit) {
    if (amount != 0 && factor > limit / amount) return std::nullopt;
    return amount * factor;
}

struct unit {
    std::string_view suffix;
    std::uint64_t factor;
};

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t kb = 1000;

constexpr std::array duration_units{
    unit{"ms", 1}, unit{"s", 1000}, unit{"m", 60'000}, unit{"h", 3'600'000},
};

constexpr std::array size_units{
    unit{"", 1},        unit{"B", 1},
    unit{"KiB", kib},   unit{"MiB", kib * kib},      unit{"GiB", kib * kib * kib}, unit{"TiB", kib * kib * kib * kib},
    unit{"k", kb},      unit{"K", kb},               unit{"KB", kb},
    unit{"M", kb * kb}, unit{"MB", kb * kb},
    unit{"G", kb * kb * kb}, unit{"GB", kb * kb * kb},
};

template <std::size_t N>
std::optional<std::uint64_t> factor_of(const std::array<unit, N>& units, std::string_view suffix) {
    for (const auto& u : units)
        if (u.suffix == suffix) return u.factor;
    return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto split = split_amount(text);
    if (!split) return std::nullopt;
    auto [amount, suffix] = *split;
    if (suffix.empty()) {
        if (amount != 0) return std::nullopt;  // a bare number is ambiguous unless it is zero
        return std::chrono::milliseconds{0};
    }
    auto factor = factor_of(duration_units, suffix);
    if (!factor) return std::nullopt;
    using rep = std::chrono::milliseconds::rep;
    auto ms = scaled(amount, *factor, static_cast<std::uint64_t>(std::numeric_limits<rep>::max()));
    if (!ms) return std::nullopt;
    return std::chrono::milliseconds{static_cast<rep>(*ms)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto split = split_amount(text);
    if (!split) return std::nullopt;
    auto [amount, suffix] = *split;
    auto factor = factor_of(size_units, suffix);
    if (!factor) return std::nullopt;
    return scaled(amount, *factor, std::numeric_limits<std::uint64_t>::max());
}

}  // namespace gatehouse::config
