// Nginx sizes ("20M") and times ("1m30s", "600") in gatehouse's spelling ("20MiB", "90s").
#include <gatehouse/nginx/import.hpp>

#include <cctype>
#include <cstdint>

namespace gatehouse::nginx {

namespace {

/// Leading decimal digits of `s` (at most 12); nullopt when there are none.
std::optional<std::uint64_t> leading_number(std::string_view& s) {
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < s.size() && i < 12 && std::isdigit(static_cast<unsigned char>(s[i])); ++i) n = n * 10 + (s[i] - '0');
    if (i == 0 || (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))) return std::nullopt;
    s.remove_prefix(i);
    return n;
}

/// Milliseconds of one Nginx time unit (ngx_parse_time: ms s m h d w M y); 0 when unknown.
std::uint64_t unit_ms(std::string_view u) {
    if (u == "ms") return 1;
    if (u.empty() || u == "s") return 1000;
    if (u == "m") return 60'000;
    if (u == "h") return 3'600'000;
    if (u == "d") return 86'400'000;
    if (u == "w") return 7 * 86'400'000ULL;
    if (u == "M") return 30 * 86'400'000ULL;
    if (u == "y") return 365 * 86'400'000ULL;
    return 0;
}

}  // namespace

std::optional<std::string> size_of(std::string_view s) {
    auto n = leading_number(s);
    if (!n) return std::nullopt;
    if (s.empty()) return std::to_string(*n);
    if (s.size() != 1) return std::nullopt;
    switch (s[0]) {
    case 'k': case 'K': return std::to_string(*n) + "KiB";
    case 'm': case 'M': return std::to_string(*n) + "MiB";
    case 'g': case 'G': return std::to_string(*n) + "GiB";
    default: return std::nullopt;
    }
}

std::optional<std::string> duration_of(std::string_view s) {
    std::uint64_t total = 0;
    if (s.empty()) return std::nullopt;
    while (!s.empty()) {
        auto n = leading_number(s);
        if (!n) return std::nullopt;
        std::size_t unit_length = 0;
        while (unit_length < s.size() && std::isalpha(static_cast<unsigned char>(s[unit_length]))) ++unit_length;
        const auto ms = unit_ms(s.substr(0, unit_length));
        if (ms == 0) return std::nullopt;
        // A bare number is seconds only when it is the whole value ("600"), as in Nginx.
        if (unit_length == 0 && total != 0) return std::nullopt;
        total += *n * ms;
        s.remove_prefix(unit_length);
    }
    if (total % 1000 != 0) return std::to_string(total) + "ms";
    return std::to_string(total / 1000) + "s";
}

}  // namespace gatehouse::nginx
