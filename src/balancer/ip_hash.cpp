// Maglev table construction and lookup for ip_hash.
#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/balancer/ip_hash.hpp>

#include <functional>
#include <string_view>

namespace gatehouse::balancer {
namespace {

std::uint64_t name_hash(std::string_view name, std::uint64_t seed) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull ^ seed;  // FNV-1a, then mixed
    for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
    return mix64(h);
}

constexpr std::size_t max_rehash = 64;

}  // namespace

ip_hash::ip_hash(std::span<const node_entry> nodes) : table_(table_size), nodes_(nodes.size()) {
    if (nodes.empty()) return;
    const std::size_t m = table_size;
    std::vector<std::size_t> offset(nodes.size()), skip(nodes.size()), next(nodes.size(), 0);
    unsigned max_weight = 1;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        offset[i] = name_hash(nodes[i].name, 1) % m;
        skip[i] = name_hash(nodes[i].name, 2) % (m - 1) + 1;
        max_weight = std::max(max_weight, nodes[i].weight);
    }
    std::vector<bool> taken(m, false);
    std::vector<std::uint64_t> credit(nodes.size(), 0);
    std::size_t filled = 0;
    // Weighted Maglev: each round every node earns its weight in credit and claims a slot per max_weight.
    while (filled < m) {
        for (std::size_t i = 0; i < nodes.size() && filled < m; ++i) {
            credit[i] += nodes[i].weight;
            while (credit[i] >= max_weight && filled < m) {
                credit[i] -= max_weight;
                std::size_t slot;
                do {
                    slot = (offset[i] + next[i] * skip[i]) % m;
                    ++next[i];
                } while (taken[slot]);
                taken[slot] = true;
                table_[slot] = static_cast<std::uint16_t>(i);
                ++filled;
            }
        }
    }
}

std::optional<std::size_t> ip_hash::pick(const pick_context& ctx) {
    if (nodes_ == 0) return std::nullopt;
    std::uint64_t key = ctx.key;
    for (std::size_t attempt = 0; attempt < max_rehash; ++attempt) {
        const std::size_t node = table_[key % table_size];
        if (!ctx.excluded.test(node)) return node;
        key = mix64(key + attempt + 1);
    }
    // Almost every node is excluded: take the first one left, in an order that depends on the key.
    const std::size_t start = ctx.key % nodes_;
    for (std::size_t i = 0; i < nodes_; ++i) {
        const std::size_t node = (start + i) % nodes_;
        if (!ctx.excluded.test(node)) return node;
    }
    return std::nullopt;
}

}  // namespace gatehouse::balancer
