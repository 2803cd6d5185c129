#pragma once

#include <cstdint>

#include "csr_matrix.h"

namespace edgert::sparse {

enum class Kernel { Auto, Scalar };

// Y[M, N] = X[M, K] * W[K, N] (+ bias[N]), with W given as the CSR form of its transpose (N rows of K columns),
// so each output is a short dot product over that output's surviving weights. Any M, K, N >= 0 works,
// including empty rows and an all-zero W. threads <= 0 means one per hardware thread.
// Throws std::invalid_argument when weights_t does not have K columns.
void sparse_matmul(const float* x, int64_t m, int64_t k, const CsrView& weights_t, const float* bias, float* y,
                   int threads = 0, Kernel kernel = Kernel::Auto);

// The SIMD path Kernel::Auto picks on this machine: "avx2", "avx2 (scalar-load CSR dot)" (AMD), "neon" or "scalar".
const char* simd_path();

}  // namespace edgert::sparse
