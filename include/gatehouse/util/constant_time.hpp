// Comparing secrets (admin token, bypass cookie) in time that does not depend on where they differ.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse::util {

/// True when `a` equals `secret`. Every byte of both is read whatever the contents, so the time taken tells an
/// attacker nothing about how much of a guess was right (only, at most, the secret's length).
inline bool constant_time_equal(std::string_view a, std::string_view secret) noexcept {
    const std::size_t n = a.size() > secret.size() ? a.size() : secret.size();
    volatile unsigned char diff = static_cast<unsigned char>(a.size() != secret.size());
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < secret.size() ? static_cast<unsigned char>(secret[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

}  // namespace gatehouse::util
