#pragma once
// Splits a range of independent output units across threads so each gets about the same share of the work,
// where unit u costs prefix[u + 1] - prefix[u] (pruning leaves units of very different weight counts).
#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace edgert::sparse::detail {

// Starting a thread costs tens of microseconds; below this much work per thread one thread is faster.
constexpr int64_t kWorkPerThread = 32768;

template <typename Run>
void parallel_over_units(const int64_t* prefix, int64_t units, int64_t work, int threads, Run run) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int64_t useful = std::max<int64_t>(1, std::min<int64_t>({threads, units, work / kWorkPerThread + 1}));
    if (useful == 1) {
        run(int64_t{0}, units);
        return;
    }
    const int64_t total = prefix[units];
    std::vector<int64_t> bounds{0};
    for (int64_t t = 1; t < useful; ++t) {
        const int64_t target = total * t / useful;
        auto it = std::lower_bound(prefix, prefix + units + 1, target);
        int64_t unit = std::clamp<int64_t>(it - prefix, bounds.back(), units);
        if (total == 0) unit = units * t / useful;
        bounds.push_back(unit);
    }
    bounds.push_back(units);
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(useful) - 1);
    for (int64_t t = 1; t < useful; ++t) workers.emplace_back(run, bounds[t], bounds[t + 1]);
    run(bounds[0], bounds[1]);
    for (auto& worker : workers) worker.join();
}

}  // namespace edgert::sparse::detail
