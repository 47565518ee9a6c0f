// The balancer factory: the one place that maps a configured policy to its algorithm.
#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/balancer/round_robin.hpp>

namespace gatehouse::balancer {

std::unique_ptr<balancer> make_balancer(config::balance_policy policy, std::span<const unsigned> weights) {
    switch (policy) {
    case config::balance_policy::round_robin:
        return std::make_unique<round_robin>(weights);
    }
    return std::make_unique<round_robin>(weights);
}

}  // namespace gatehouse::balancer
