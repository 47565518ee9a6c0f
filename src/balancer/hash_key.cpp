// Client keys for ip_hash.
#include <gatehouse/balancer/hash_key.hpp>

namespace gatehouse::balancer {

std::uint64_t client_key(const config::ip_bytes& a) noexcept {
    std::uint64_t high = 0, low = 0;
    for (int i = 0; i < 8; ++i) high = (high << 8) | a[i];
    for (int i = 8; i < 16; ++i) low = (low << 8) | a[i];
    const bool v4_mapped = high == 0 && (low >> 32) == 0xffff;
    if (!v4_mapped) low = 0;  // IPv6: only the /64 network counts
    return mix64(high ^ mix64(low));
}

}  // namespace gatehouse::balancer
