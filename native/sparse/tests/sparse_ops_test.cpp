// Runs SparseMatMul inside ONNX Runtime (library loaded as a bundle would load it) and compares every output
// with ONNX Runtime's own dense MatMul + Add on the same weights.
// Usage: sparse_ops_test PATH_TO_libedgert_sparse_ops.so
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "onnx_model_writer.h"
#include "onnxruntime_cxx_api.h"
#include "sparse_matmul.h"

using namespace edgert::sparse::testing;

namespace {

int failures = 0;
int checks = 0;

Ort::Session open(Ort::Env& env, const std::string& model, const char* library) {
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(1);
    if (library) options.RegisterCustomOpsLibrary(library);
    return Ort::Session(env, model.data(), model.size(), options);
}

std::vector<float> run(Ort::Session& session, std::vector<float>& x, const std::vector<int64_t>& shape) {
    auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    auto input = Ort::Value::CreateTensor<float>(memory, x.data(), x.size(), shape.data(), shape.size());
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    auto outputs = session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
    const float* y = outputs[0].GetTensorData<float>();
    return std::vector<float>(y, y + outputs[0].GetTensorTypeAndShapeInfo().GetElementCount());
}

Layer random_layer(std::mt19937& rng, int64_t k, int64_t n, double sparsity, bool empty_outputs) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    Layer layer{k, n, std::vector<float>(static_cast<size_t>(k * n)), std::vector<float>(static_cast<size_t>(n))};
    for (auto& w : layer.weights) w = keep(rng) < sparsity ? 0.0f : value(rng);
    if (empty_outputs)
        for (int64_t r = 0; r < k; ++r)
            for (int64_t c = 1; c < n; c += 4) layer.weights[r * n + c] = 0.0f;
    for (auto& b : layer.bias) b = value(rng);
    return layer;
}

// Zeroes whole 1 x 8 blocks along the outputs, as block pruning does.
void prune_blocks(std::mt19937& rng, Layer& layer, double sparsity) {
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    for (int64_t r = 0; r < layer.k; ++r)
        for (int64_t g = 0; g < layer.n; g += 8)
            if (keep(rng) < sparsity)
                for (int64_t c = g; c < std::min(layer.n, g + 8); ++c) layer.weights[r * layer.n + c] = 0.0f;
}

void compare_models(Ort::Env& env, const char* library, std::mt19937& rng, const std::string& dense_model,
                    const std::string& sparse_model, std::vector<int64_t> shape, const std::string& label);

void compare(Ort::Env& env, const char* library, std::mt19937& rng, std::vector<Layer> layers, std::vector<int64_t> shape,
             const std::string& label, Format format = Format::Csr) {
    std::vector<int64_t> leading(shape.size() - 1, -1);
    compare_models(env, library, rng, mlp_model(layers, leading, Format::Dense), mlp_model(layers, leading, format), shape,
                   label + (format == Format::Block ? " (blocks)" : " (CSR)"));
}

void compare_models(Ort::Env& env, const char* library, std::mt19937& rng, const std::string& dense_model,
                    const std::string& sparse_model, std::vector<int64_t> shape, const std::string& label_text) {
    const char* label = label_text.c_str();
    auto dense = open(env, dense_model, nullptr);
    auto sparse = open(env, sparse_model, library);
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::vector<float> x(static_cast<size_t>(count));
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (auto& v : x) v = value(rng);
    auto expected = run(dense, x, shape);
    auto actual = run(sparse, x, shape);
    ++checks;
    if (expected.size() != actual.size()) {
        std::printf("FAIL %s: %zu outputs, expected %zu\n", label, actual.size(), expected.size());
        ++failures;
        return;
    }
    for (size_t i = 0; i < actual.size(); ++i) {
        if (!(std::fabs(actual[i] - expected[i]) <= 1e-4f * (1.0f + std::fabs(expected[i])) * 10)) {
            std::printf("FAIL %s: y[%zu] = %g, dense gives %g\n", label, i, actual[i], expected[i]);
            ++failures;
            return;
        }
    }
}

void expect_error(const char* label, const std::function<void()>& action) {
    ++checks;
    try {
        action();
        std::printf("FAIL %s: no error\n", label);
        ++failures;
    } catch (const Ort::Exception& e) {
        std::printf("ok   %s: %s\n", label, e.what());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: sparse_ops_test LIBRARY\n");
        return 2;
    }
    const char* library = argv[1];
    Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "sparse_ops_test");
    std::mt19937 rng(7);
    for (double sparsity : {0.0, 0.5, 0.8, 0.9, 1.0}) {
        for (auto shape : std::vector<std::vector<int64_t>>{{1, 37}, {8, 37}, {2, 3, 37}}) {
            std::string label = "sparsity " + std::to_string(sparsity) + " rank " + std::to_string(shape.size());
            compare(env, library, rng, {random_layer(rng, 37, 64, sparsity, true), random_layer(rng, 64, 10, sparsity, false)},
                    shape, label);
            Layer first = random_layer(rng, 37, 61, 0.0, false), second = random_layer(rng, 61, 10, 0.0, false);
            prune_blocks(rng, first, sparsity);
            prune_blocks(rng, second, sparsity);
            compare(env, library, rng, {first, second}, shape, label, Format::Block);
        }
    }
    compare(env, library, rng, {random_layer(rng, 384, 1536, 0.8, false), random_layer(rng, 1536, 384, 0.8, false)}, {8, 384},
            "MiniLM FFN 80%");
    compare(env, library, rng, {random_layer(rng, 384, 1536, 0.8, false), random_layer(rng, 1536, 384, 0.8, false)}, {8, 384},
            "MiniLM FFN 80% unstructured", Format::Block);

    // 1 x 1 convolutions against ONNX Runtime's Conv: odd pixel counts, batch > 1, empty and all-zero filters.
    for (double sparsity : {0.0, 0.7, 0.9, 1.0}) {
        for (auto dims : std::vector<std::array<int64_t, 5>>{{1, 16, 24, 7, 7}, {3, 33, 20, 5, 3}, {2, 64, 96, 14, 14}}) {
            const auto [batch, channels, outputs, h, w] = dims;
            Layer weights = random_layer(rng, outputs, channels, sparsity, true);  // [M, C] with some empty filters
            std::vector<float> bias = random_layer(rng, 1, outputs, 0.0, false).weights;
            compare_models(env, library, rng, conv1x1_model(channels, outputs, weights.weights, bias, false),
                           conv1x1_model(channels, outputs, weights.weights, bias, true), {batch, channels, h, w},
                           "conv 1x1 " + std::to_string(channels) + "->" + std::to_string(outputs) + " sparsity " + std::to_string(sparsity));
        }
    }

    // Bad weights are reported through ONNX Runtime's status, not a crash.
    Layer layer = random_layer(rng, 4, 3, 0.0, false);
    std::string model = mlp_model({layer}, {-1}, true);
    auto bad = model;
    // Column indices are the int32 raw data right after the int64 row starts; point the first one past K.
    auto csr = edgert::sparse::CsrMatrix::from_dense_transposed(layer.weights.data(), 4, 3);
    std::string columns(reinterpret_cast<const char*>(csr.columns.data()), csr.columns.size() * 4);
    auto at = bad.find(columns);
    int32_t out_of_range = 99;
    if (at != std::string::npos) bad.replace(at, 4, reinterpret_cast<const char*>(&out_of_range), 4);
    expect_error("column index out of range", [&] {
        auto session = open(env, bad, library);
        std::vector<float> x(4, 1.0f);
        run(session, x, {1, 4});
    });
    expect_error("wrong inner dimension", [&] {
        auto session = open(env, model, library);
        std::vector<float> x(5, 1.0f);
        run(session, x, {1, 5});
    });
    expect_error("missing library", [&] { open(env, model, "/nonexistent/libedgert_sparse_ops.so"); });
    expect_error("sparse model without the library", [&] { open(env, model, nullptr); });
    Layer wide = random_layer(rng, 4, 12, 0.0, false);
    std::string block_model = mlp_model({wide}, {-1}, Format::Block);
    expect_error("block model with a wrong inner dimension", [&] {
        auto session = open(env, block_model, library);
        std::vector<float> x(5, 1.0f);
        run(session, x, {1, 5});
    });
    std::vector<float> filters(12, 1.0f), filter_bias(3, 0.0f);
    std::string conv = conv1x1_model(4, 3, filters, filter_bias, true);
    expect_error("conv with the wrong channel count", [&] {
        auto session = open(env, conv, library);
        std::vector<float> x(10, 1.0f);
        run(session, x, {1, 5, 2, 1});
    });
    expect_error("conv with a rank-2 input", [&] {
        auto session = open(env, conv, library);
        std::vector<float> x(4, 1.0f);
        run(session, x, {1, 4});
    });

    std::printf("SparseMatMul, SparseBlockMatMul and SparseConv1x1 in ONNX Runtime %s (%s path): %d checks, %d failures\n", Ort::GetVersionString().c_str(),
                edgert::sparse::simd_path(), checks, failures);
    return failures == 0 ? 0 : 1;
}
