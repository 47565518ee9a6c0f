// Google Benchmark: one pick of each balancing algorithm over 16 nodes, and a rebuild after a node list change.
#include <gatehouse/balancer/hash_key.hpp>
#include <gatehouse/balancer/ip_hash.hpp>
#include <gatehouse/balancer/least_request.hpp>
#include <gatehouse/balancer/round_robin.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

using namespace gatehouse::balancer;

namespace {

struct cluster {
    std::vector<std::string> names;
    std::vector<node_entry> nodes;
    std::vector<std::uint32_t> in_flight;
    explicit cluster(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) names.push_back("node" + std::to_string(i + 1));
        for (std::size_t i = 0; i < n; ++i) nodes.push_back({names[i], static_cast<unsigned>(1 + i % 3)});
        in_flight.assign(n, 0);
        for (std::size_t i = 0; i < n; ++i) in_flight[i] = static_cast<std::uint32_t>(i * 7 % 5);
    }
};

template <class Balancer>
void pick(benchmark::State& state) {
    cluster c(static_cast<std::size_t>(state.range(0)));
    Balancer b(c.nodes);
    node_set excluded;
    excluded.set(3);  // one node down, as in a real cluster now and then
    std::uint64_t key = 12345;
    for (auto _ : state) {
        key = mix64(key);
        benchmark::DoNotOptimize(b.pick({excluded, key, c.in_flight}));
    }
}

template <class Balancer>
void rebuild(benchmark::State& state) {
    cluster c(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        Balancer b(c.nodes);
        benchmark::DoNotOptimize(&b);
    }
}

}  // namespace

BENCHMARK(pick<round_robin>)->Arg(4)->Arg(16);
BENCHMARK(pick<ip_hash>)->Arg(4)->Arg(16);
BENCHMARK(pick<least_request>)->Arg(4)->Arg(16);
BENCHMARK(rebuild<round_robin>)->Arg(16);
BENCHMARK(rebuild<ip_hash>)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(rebuild<least_request>)->Arg(16);

BENCHMARK_MAIN();
