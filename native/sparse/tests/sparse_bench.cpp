// Benchmark: ONNX Runtime's dense MatMul + Add against SparseMatMul on the same pruned weights, measured in
// the same run, one thread each. Prints the median latency of each and the speed-up (dense / sparse).
// Usage: sparse_bench PATH_TO_libedgert_sparse_ops.so [seconds per case]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "onnx_model_writer.h"
#include "onnxruntime_cxx_api.h"
#include "sparse_matmul.h"

using namespace edgert::sparse::testing;

namespace {

Layer pruned_layer(std::mt19937& rng, int64_t k, int64_t n, double sparsity) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    Layer layer{k, n, std::vector<float>(static_cast<size_t>(k * n)), std::vector<float>(static_cast<size_t>(n))};
    for (auto& w : layer.weights) w = keep(rng) < sparsity ? 0.0f : value(rng);
    for (auto& b : layer.bias) b = value(rng);
    return layer;
}

double median_us(Ort::Session& session, std::vector<float>& x, const std::vector<int64_t>& shape, double seconds) {
    auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    auto input = Ort::Value::CreateTensor<float>(memory, x.data(), x.size(), shape.data(), shape.size());
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    for (int i = 0; i < 5; ++i) session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
    std::vector<double> times;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (times.size() < 20 || (std::chrono::steady_clock::now() < deadline && times.size() < 100000)) {
        auto start = std::chrono::steady_clock::now();
        session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
        times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: sparse_bench LIBRARY [seconds per case]\n");
        return 2;
    }
    const char* library = argv[1];
    const double seconds = argc > 2 ? std::atof(argv[2]) : 0.5;
    Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "sparse_bench");
    std::mt19937 rng(11);
    struct Case {
        const char* name;
        std::vector<std::pair<int64_t, int64_t>> shapes;
    };
    const Case cases[] = {
        {"MLP 784-512-256-10", {{784, 512}, {512, 256}, {256, 10}}},
        {"MLP 1024-1024", {{1024, 1024}}},
        {"MiniLM FFN 384-1536-384", {{384, 1536}, {1536, 384}}},
    };
    std::printf("ONNX Runtime %s, SparseMatMul %s path, 1 thread each, median of runs over %.1f s per cell\n",
                Ort::GetVersionString().c_str(), edgert::sparse::simd_path(), seconds);
    std::printf("%-24s %8s %6s %12s %12s %8s\n", "layers", "sparsity", "batch", "dense us", "sparse us", "speed-up");
    for (const auto& c : cases) {
        for (double sparsity : {0.5, 0.7, 0.8, 0.9}) {
            std::vector<Layer> layers;
            for (auto [k, n] : c.shapes) layers.push_back(pruned_layer(rng, k, n, sparsity));
            Ort::SessionOptions dense_options, sparse_options;
            for (auto* options : {&dense_options, &sparse_options}) {
                options->SetIntraOpNumThreads(1);
                options->SetInterOpNumThreads(1);
            }
            sparse_options.RegisterCustomOpsLibrary(library);
            auto dense_model = mlp_model(layers, {-1}, false);
            auto sparse_model = mlp_model(layers, {-1}, true, 1);
            Ort::Session dense(env, dense_model.data(), dense_model.size(), dense_options);
            Ort::Session sparse(env, sparse_model.data(), sparse_model.size(), sparse_options);
            for (int64_t batch : {1, 8}) {
                std::vector<int64_t> shape{batch, layers.front().k};
                std::vector<float> x(static_cast<size_t>(batch * layers.front().k));
                std::uniform_real_distribution<float> value(-1.0f, 1.0f);
                for (auto& v : x) v = value(rng);
                double dense_us = median_us(dense, x, shape, seconds);
                double sparse_us = median_us(sparse, x, shape, seconds);
                std::printf("%-24s %7.0f%% %6lld %12.1f %12.1f %7.2fx\n", c.name, sparsity * 100, static_cast<long long>(batch),
                            dense_us, sparse_us, dense_us / sparse_us);
            }
        }
    }
    return 0;
}
