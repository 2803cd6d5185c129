#pragma once

#include <cstdint>
#include <vector>

#include "sparse_matmul.h"

namespace edgert::sparse {

// Width of a weight block: eight neighbouring outputs of one input, one AVX2 register or two NEON registers.
constexpr int64_t kBlockWidth = 8;

// W[K, N] in 1 x 8 blocks along N: output group g (outputs 8g .. 8g + 7) owns blocks
// group_starts[g] .. group_starts[g + 1]; block b holds W[block_rows[b], 8g .. 8g + 7] in values[8b .. 8b + 7],
// zero past N. A kept block costs one broadcast multiply-add per input row, with no gathered loads.
struct BlockSparseView {
    int64_t k = 0;  // inputs
    int64_t n = 0;  // outputs
    const int64_t* group_starts = nullptr;  // groups() + 1 entries, starting at 0, non-decreasing
    const int32_t* block_rows = nullptr;    // blocks() entries, each in [0, k)
    const float* values = nullptr;          // blocks() * kBlockWidth entries

    int64_t groups() const { return (n + kBlockWidth - 1) / kBlockWidth; }
    int64_t blocks() const { return groups() > 0 ? group_starts[groups()] : 0; }

    // Throws std::invalid_argument naming the first inconsistency; the kernel trusts a validated view.
    void validate(int64_t starts_count, int64_t row_count, int64_t value_count) const;
};

struct BlockSparseMatrix {
    int64_t k = 0, n = 0;
    std::vector<int64_t> group_starts;
    std::vector<int32_t> block_rows;
    std::vector<float> values;

    BlockSparseView view() const { return {k, n, group_starts.data(), block_rows.data(), values.data()}; }

    // Keeps every block of a row-major [k, n] matrix with at least one non-zero; zeros inside a kept block
    // are stored (block pruning makes whole blocks zero, so unstructured weights waste work here).
    static BlockSparseMatrix from_dense(const float* dense, int64_t k, int64_t n);
};

// Y[M, N] = X[M, K] * W[K, N] (+ bias[N]) with W in 1 x 8 blocks. Any M, K, N >= 0 works, including
// groups with no blocks and an all-zero W. threads <= 0 means one per hardware thread.
void block_sparse_matmul(const float* x, int64_t m, int64_t k, const BlockSparseView& weights, const float* bias,
                         float* y, int threads = 0, Kernel kernel = Kernel::Auto);

// out[b, o, p] = sum_c W[o, c] * x[b, c, p] (+ bias[o]): a 1 x 1 convolution (NCHW, stride 1, one group)
// over `pixels` = H * W positions, W in CSR form ([outputs, channels]). Each surviving weight is broadcast
// and multiplied with a run of pixels, so the vectors run along the pixels.
void sparse_conv1x1(const float* x, int64_t batch, int64_t channels, int64_t pixels, const CsrView& weights,
                    const float* bias, float* y, int threads = 0, Kernel kernel = Kernel::Auto);

}  // namespace edgert::sparse
