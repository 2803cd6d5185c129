// Checks the 1 x 8 block-sparse MatMul and the sparse 1 x 1 convolution against plain dense double-precision
// products over random shapes and sparsities: groups and outputs with no weights, all-zero weights,
// batch > 1, pixel counts that are not a multiple of any vector width, and every thread count.
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

#include "block_sparse.h"

using edgert::sparse::BlockSparseMatrix;
using edgert::sparse::CsrMatrix;
using edgert::sparse::Kernel;
using edgert::sparse::kBlockWidth;

namespace {

int failures = 0;
int checks = 0;

bool same(const std::vector<float>& y, const std::vector<double>& expected, int64_t terms, const char* what, long long a,
          long long b, long long c, double sparsity, const char* kernel, int threads) {
    ++checks;
    const double tolerance = 1e-5 * (1.0 + static_cast<double>(terms));
    for (size_t i = 0; i < y.size(); ++i) {
        if (!(std::fabs(y[i] - expected[i]) <= tolerance)) {
            std::printf("FAIL %s %lld/%lld/%lld sparsity=%.2f kernel=%s threads=%d: y[%zu]=%g expected %g\n", what, a, b, c,
                        sparsity, kernel, threads, i, y[i], expected[i]);
            ++failures;
            return false;
        }
    }
    return true;
}

// Whole blocks are zeroed with probability `sparsity` (block pruning); `loose` also zeroes single weights
// inside kept blocks, as unstructured weights stored in blocks would have.
void check_block_matmul(std::mt19937& rng, int64_t m, int64_t k, int64_t n, double sparsity, bool empty_groups, bool with_bias,
                        bool loose) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(k * n)), bias;
    for (auto& v : x) v = value(rng);
    for (int64_t r = 0; r < k; ++r)
        for (int64_t g = 0; g < n; g += kBlockWidth) {
            const bool dropped = keep(rng) < sparsity || (empty_groups && (g / kBlockWidth) % 3 == 1);
            for (int64_t c = g; c < std::min(n, g + kBlockWidth); ++c)
                w[r * n + c] = dropped || (loose && keep(rng) < 0.3) ? 0.0f : value(rng);
        }
    if (with_bias) {
        bias.resize(static_cast<size_t>(n));
        for (auto& v : bias) v = value(rng);
    }
    std::vector<double> expected(static_cast<size_t>(m * n));
    for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
            double sum = with_bias ? bias[c] : 0.0;
            for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(x[r * k + i]) * w[i * n + c];
            expected[r * n + c] = sum;
        }
    auto blocks = BlockSparseMatrix::from_dense(w.data(), k, n);
    blocks.view().validate(static_cast<int64_t>(blocks.group_starts.size()), static_cast<int64_t>(blocks.block_rows.size()),
                           static_cast<int64_t>(blocks.values.size()));
    for (Kernel kernel : {Kernel::Auto, Kernel::Scalar})
        for (int threads : {1, 2, 3, 8}) {
            std::vector<float> y(static_cast<size_t>(m * n), NAN);
            edgert::sparse::block_sparse_matmul(x.data(), m, k, blocks.view(), with_bias ? bias.data() : nullptr, y.data(), threads,
                                                kernel);
            same(y, expected, k, "block m/k/n", m, k, n, sparsity, kernel == Kernel::Auto ? "auto" : "scalar", threads);
        }
}

void check_conv(std::mt19937& rng, int64_t batch, int64_t channels, int64_t outputs, int64_t pixels, double sparsity,
                bool empty_outputs, bool with_bias) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    std::vector<float> x(static_cast<size_t>(batch * channels * pixels)), w(static_cast<size_t>(outputs * channels)), bias;
    for (auto& v : x) v = value(rng);
    for (auto& v : w) v = keep(rng) < sparsity ? 0.0f : value(rng);
    if (empty_outputs)
        for (int64_t o = 0; o < outputs; o += 3)
            for (int64_t c = 0; c < channels; ++c) w[o * channels + c] = 0.0f;
    if (with_bias) {
        bias.resize(static_cast<size_t>(outputs));
        for (auto& v : bias) v = value(rng);
    }
    std::vector<double> expected(static_cast<size_t>(batch * outputs * pixels));
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t o = 0; o < outputs; ++o)
            for (int64_t p = 0; p < pixels; ++p) {
                double sum = with_bias ? bias[o] : 0.0;
                for (int64_t c = 0; c < channels; ++c)
                    sum += static_cast<double>(w[o * channels + c]) * x[(b * channels + c) * pixels + p];
                expected[(b * outputs + o) * pixels + p] = sum;
            }
    auto csr = CsrMatrix::from_dense(w.data(), outputs, channels);
    for (Kernel kernel : {Kernel::Auto, Kernel::Scalar})
        for (int threads : {1, 2, 3, 8}) {
            std::vector<float> y(expected.size(), NAN);
            edgert::sparse::sparse_conv1x1(x.data(), batch, channels, pixels, csr.view(), with_bias ? bias.data() : nullptr, y.data(),
                                           threads, kernel);
            same(y, expected, channels, "conv batch/channels/outputs", batch, channels, outputs, sparsity,
                 kernel == Kernel::Auto ? "auto" : "scalar", threads);
        }
}

template <typename F>
void check_rejects(const char* what, F f) {
    ++checks;
    try {
        f();
        std::printf("FAIL: %s was not rejected\n", what);
        ++failures;
    } catch (const std::invalid_argument&) {
    }
}

}  // namespace

int main() {
    std::mt19937 rng(20261130);
    for (int64_t m : {1, 2, 5, 8, 17})
        for (int64_t k : {1, 7, 64, 300})
            for (int64_t n : {1, 5, 8, 96, 257})
                for (double s : {0.0, 0.5, 0.8, 0.9, 1.0})
                    check_block_matmul(rng, m, k, n, s, (m + k + n) % 2 == 0, (k + n) % 3 != 0, (m + n) % 3 == 0);
    check_block_matmul(rng, 8, 1024, 1024, 0.8, false, true, false);  // multithreaded split
    check_block_matmul(rng, 1, 1536, 384, 0.9, true, true, true);
    check_block_matmul(rng, 130, 64, 40, 0.7, false, true, false);  // more rows than one chunk
    check_block_matmul(rng, 0, 16, 16, 0.5, false, true, false);
    check_block_matmul(rng, 3, 0, 16, 0.5, false, true, false);

    for (int64_t batch : {1, 3})
        for (int64_t channels : {1, 6, 64})
            for (int64_t outputs : {1, 7, 48})
                for (int64_t pixels : {1, 3, 8, 13, 49, 300})
                    for (double s : {0.0, 0.7, 0.9, 1.0})
                        check_conv(rng, batch, channels, outputs, pixels, s, (channels + outputs) % 2 == 1, pixels % 2 == 1);
    check_conv(rng, 2, 256, 512, 28 * 28, 0.8, true, true);  // multithreaded split
    check_conv(rng, 0, 4, 4, 9, 0.5, false, true);
    check_conv(rng, 2, 0, 4, 9, 0.5, false, true);

    std::vector<float> w(16, 1.0f), x(8, 1.0f), y(16);
    auto blocks = BlockSparseMatrix::from_dense(w.data(), 2, 8);
    check_rejects("a block K mismatch", [&] { edgert::sparse::block_sparse_matmul(x.data(), 1, 4, blocks.view(), nullptr, y.data()); });
    check_rejects("block starts with the wrong count", [&] {
        blocks.view().validate(3, static_cast<int64_t>(blocks.block_rows.size()), static_cast<int64_t>(blocks.values.size()));
    });
    check_rejects("a block row outside K", [&] {
        auto bad = blocks;
        bad.block_rows[0] = 2;
        bad.view().validate(2, 2, 16);
    });
    auto csr = CsrMatrix::from_dense(w.data(), 4, 4);
    check_rejects("a conv channel mismatch", [&] { edgert::sparse::sparse_conv1x1(x.data(), 1, 2, 4, csr.view(), nullptr, y.data()); });
    std::printf("block_sparse_matmul and sparse_conv1x1 (%s path): %d checks, %d failures\n", edgert::sparse::simd_path(), checks,
                failures);
    return failures == 0 ? 0 : 1;
}
