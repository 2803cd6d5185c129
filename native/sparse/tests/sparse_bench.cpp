// Benchmark: ONNX Runtime's dense MatMul + Add (or Conv) against the sparse ops on the same shapes, measured in
// the same run, one thread each, in interleaved rounds so machine load hits every contender alike.
// MatMul rows: dense, SparseMatMul (CSR) on unstructured pruned weights, SparseBlockMatMul on 1 x 8
// block-pruned weights of the same sparsity. Conv rows: dense Conv and SparseConv1x1 on unstructured weights.
// Prints medians and speed-ups (dense / sparse).
// Usage: sparse_bench PATH_TO_libedgert_sparse_ops.so [seconds per cell]
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

constexpr int kRounds = 7;

Layer pruned_layer(std::mt19937& rng, int64_t k, int64_t n, double sparsity, bool blocks) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    Layer layer{k, n, std::vector<float>(static_cast<size_t>(k * n)), std::vector<float>(static_cast<size_t>(n))};
    for (auto& w : layer.weights) w = value(rng);
    for (int64_t r = 0; r < k; ++r)
        for (int64_t g = 0; g < n; g += blocks ? 8 : 1) {
            if (keep(rng) >= sparsity) continue;
            for (int64_t c = g; c < std::min(n, g + (blocks ? 8 : 1)); ++c) layer.weights[r * n + c] = 0.0f;
        }
    for (auto& b : layer.bias) b = value(rng);
    return layer;
}

Ort::Session open(Ort::Env& env, const std::string& model, const char* library) {
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(1);
    options.SetInterOpNumThreads(1);
    if (library) options.RegisterCustomOpsLibrary(library);
    return Ort::Session(env, model.data(), model.size(), options);
}

// Median microseconds per run of each session, measured in kRounds interleaved rounds.
std::vector<double> median_us(std::vector<Ort::Session*> sessions, std::vector<float>& x, const std::vector<int64_t>& shape,
                              double seconds) {
    auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    auto input = Ort::Value::CreateTensor<float>(memory, x.data(), x.size(), shape.data(), shape.size());
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    for (auto* session : sessions)
        for (int i = 0; i < 5; ++i) session->Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
    std::vector<std::vector<double>> times(sessions.size());
    const double slice = seconds / kRounds / static_cast<double>(sessions.size());
    for (int round = 0; round < kRounds; ++round) {
        for (size_t s = 0; s < sessions.size(); ++s) {
            auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(slice);
            int runs = 0;
            while (runs < 3 || std::chrono::steady_clock::now() < deadline) {
                auto start = std::chrono::steady_clock::now();
                sessions[s]->Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
                times[s].push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
                ++runs;
            }
        }
    }
    std::vector<double> medians;
    for (auto& t : times) {
        std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
        medians.push_back(t[t.size() / 2]);
    }
    return medians;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: sparse_bench LIBRARY [seconds per cell]\n");
        return 2;
    }
    const char* library = argv[1];
    const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
    if (!(seconds > 0)) {
        std::fprintf(stderr, "sparse_bench: seconds per cell must be a positive number, got '%s'\n", argv[2]);
        return 2;
    }
    Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "sparse_bench");
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    struct Case {
        const char* name;
        std::vector<std::pair<int64_t, int64_t>> shapes;
    };
    const Case cases[] = {
        {"MLP 1024-1024", {{1024, 1024}}},
        {"MiniLM FFN 384-1536-384", {{384, 1536}, {1536, 384}}},
    };
    std::printf("ONNX Runtime %s, sparse ops %s path, 1 thread each, medians over %d interleaved rounds, %.1f s per cell\n",
                Ort::GetVersionString().c_str(), edgert::sparse::simd_path(), kRounds, seconds);
    std::printf("%-24s %8s %5s %10s %10s %8s %10s %8s\n", "layers", "sparsity", "batch", "dense us", "CSR us", "CSR x",
                "1x8 us", "1x8 x");
    for (const auto& c : cases) {
        for (double sparsity : {0.5, 0.7, 0.8, 0.9}) {
            std::vector<Layer> unstructured, blocked;
            for (auto [k, n] : c.shapes) {
                unstructured.push_back(pruned_layer(rng, k, n, sparsity, false));
                blocked.push_back(pruned_layer(rng, k, n, sparsity, true));
            }
            auto dense = open(env, mlp_model(unstructured, {-1}, Format::Dense), nullptr);
            auto csr = open(env, mlp_model(unstructured, {-1}, Format::Csr, 1), library);
            auto block = open(env, mlp_model(blocked, {-1}, Format::Block, 1), library);
            for (int64_t batch : {1, 8}) {
                std::vector<int64_t> shape{batch, c.shapes.front().first};
                std::vector<float> x(static_cast<size_t>(batch * shape[1]));
                for (auto& v : x) v = value(rng);
                auto us = median_us({&dense, &csr, &block}, x, shape, seconds);
                std::printf("%-24s %7.0f%% %5lld %10.1f %10.1f %7.2fx %10.1f %7.2fx\n", c.name, sparsity * 100,
                            static_cast<long long>(batch), us[0], us[1], us[0] / us[1], us[2], us[0] / us[2]);
                std::fflush(stdout);
            }
        }
    }

    struct ConvCase {
        const char* name;
        int64_t channels, outputs, side;
    };
    const ConvCase convs[] = {{"conv1x1 128->128 28x28", 128, 128, 28}, {"conv1x1 256->256 14x14", 256, 256, 14},
                              {"conv1x1 512->512 7x7", 512, 512, 7}};
    std::printf("\n%-24s %8s %5s %10s %10s %8s\n", "1x1 convolution", "sparsity", "batch", "dense us", "sparse us", "speed-up");
    for (const auto& c : convs) {
        for (double sparsity : {0.5, 0.7, 0.8, 0.9}) {
            Layer weights = pruned_layer(rng, c.outputs, c.channels, sparsity, false);
            std::vector<float> bias(weights.weights.begin(), weights.weights.begin() + c.outputs);
            auto dense = open(env, conv1x1_model(c.channels, c.outputs, weights.weights, bias, false), nullptr);
            auto sparse = open(env, conv1x1_model(c.channels, c.outputs, weights.weights, bias, true, 1), library);
            std::vector<int64_t> shape{1, c.channels, c.side, c.side};
            std::vector<float> x(static_cast<size_t>(c.channels * c.side * c.side));
            for (auto& v : x) v = value(rng);
            auto us = median_us({&dense, &sparse}, x, shape, seconds);
            std::printf("%-24s %7.0f%% %5d %10.1f %10.1f %7.2fx\n", c.name, sparsity * 100, 1, us[0], us[1], us[0] / us[1]);
            std::fflush(stdout);
        }
    }
    return 0;
}
