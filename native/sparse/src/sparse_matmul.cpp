#include "sparse_matmul.h"

#include "parallel.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDGERT_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define EDGERT_NEON 1
#endif

namespace edgert::sparse {

namespace {

using DotFn = float (*)(const float* x, const int32_t* columns, const float* values, int64_t count);

// GCC's vectoriser turns the indexed loads below into emulated gathers that run at half the speed of plain
// scalar loads (measured on AMD EPYC: 124 us against 69 us for a 1024 x 1024, 80 % sparse product).
#if defined(__GNUC__) && !defined(__clang__)
#define EDGERT_SCALAR_LOADS __attribute__((optimize("no-tree-vectorize")))
#else
#define EDGERT_SCALAR_LOADS
#endif

EDGERT_SCALAR_LOADS float dot_scalar(const float* x, const int32_t* columns, const float* values, int64_t count) {
    // Eight independent sums keep the adds from serialising on one register and the loads streaming.
    float s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= count; i += 8)
        for (int u = 0; u < 8; ++u) s[u] += values[i + u] * x[columns[i + u]];
    for (; i < count; ++i) s[0] += values[i] * x[columns[i]];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#ifdef EDGERT_X86
__attribute__((target("avx2,fma"))) float dot_avx2(const float* x, const int32_t* columns, const float* values,
                                                    int64_t count) {
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256i idx0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(columns + i));
        __m256i idx1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(columns + i + 8));
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + i), _mm256_i32gather_ps(x, idx0, 4), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + i + 8), _mm256_i32gather_ps(x, idx1, 4), acc1);
    }
    for (; i + 8 <= count; i += 8) {
        __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(columns + i));
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + i), _mm256_i32gather_ps(x, idx, 4), acc0);
    }
    __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
    float sum = _mm_cvtss_f32(half);
    for (; i < count; ++i) sum += values[i] * x[columns[i]];
    return sum;
}
#endif

#ifdef EDGERT_NEON
float dot_neon(const float* x, const int32_t* columns, const float* values, int64_t count) {
    // NEON has no gather: the loads are scalar, the multiply-adds four wide in two chains.
    float32x4_t acc0 = vdupq_n_f32(0);
    float32x4_t acc1 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        float g0[4] = {x[columns[i]], x[columns[i + 1]], x[columns[i + 2]], x[columns[i + 3]]};
        float g1[4] = {x[columns[i + 4]], x[columns[i + 5]], x[columns[i + 6]], x[columns[i + 7]]};
        acc0 = vfmaq_f32(acc0, vld1q_f32(values + i), vld1q_f32(g0));
        acc1 = vfmaq_f32(acc1, vld1q_f32(values + i + 4), vld1q_f32(g1));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < count; ++i) sum += values[i] * x[columns[i]];
    return sum;
}
#endif

// Batched path: x is transposed to [K, M padded to 8], so each surviving weight multiplies eight rows at
// once with one broadcast multiply-add, instead of gathering. Four accumulators hide the add latency.
constexpr int64_t kLanes = 8;

inline __attribute__((always_inline)) void batched_block(const float* xt, int64_t m_padded, const int32_t* columns,
                                                         const float* values, int64_t count, float* out) {
    float acc[4][kLanes] = {};
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        for (int u = 0; u < 4; ++u) {
            const float w = values[i + u];
            const float* src = xt + static_cast<int64_t>(columns[i + u]) * m_padded;
            for (int64_t t = 0; t < kLanes; ++t) acc[u][t] += w * src[t];
        }
    }
    for (; i < count; ++i) {
        const float w = values[i];
        const float* src = xt + static_cast<int64_t>(columns[i]) * m_padded;
        for (int64_t t = 0; t < kLanes; ++t) acc[0][t] += w * src[t];
    }
    for (int64_t t = 0; t < kLanes; ++t) out[t] = (acc[0][t] + acc[1][t]) + (acc[2][t] + acc[3][t]);
}

using BlockFn = void (*)(const float* xt, int64_t m_padded, const int32_t* columns, const float* values, int64_t count,
                         float* out);

void block_generic(const float* xt, int64_t m_padded, const int32_t* columns, const float* values, int64_t count, float* out) {
    batched_block(xt, m_padded, columns, values, count, out);
}

#ifdef EDGERT_X86
__attribute__((target("avx2,fma"))) void block_avx2(const float* xt, int64_t m_padded, const int32_t* columns,
                                                     const float* values, int64_t count, float* out) {
    batched_block(xt, m_padded, columns, values, count, out);
}
#endif

BlockFn pick_block(Kernel kernel) {
#ifdef EDGERT_X86
    if (kernel == Kernel::Auto && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return block_avx2;
#endif
    (void)kernel;
    return block_generic;  // on aarch64 the compiler vectorises this with NEON
}

void run_outputs_batched(BlockFn block, const float* xt, int64_t m, int64_t m_padded, const CsrView& w, const float* bias,
                         float* y, int64_t first, int64_t last) {
    const int64_t n = w.rows;
    float out[kLanes];
    for (int64_t o = first; o < last; ++o) {
        const int64_t begin = w.row_starts[o];
        const int64_t count = w.row_starts[o + 1] - begin;
        const float b = bias ? bias[o] : 0.0f;
        for (int64_t m0 = 0; m0 < m; m0 += kLanes) {
            block(xt + m0, m_padded, w.columns + begin, w.values + begin, count, out);
            const int64_t rows = std::min(kLanes, m - m0);
            for (int64_t t = 0; t < rows; ++t) y[(m0 + t) * n + o] = b + out[t];
        }
    }
}

DotFn pick(Kernel kernel) {
    if (kernel == Kernel::Scalar) return dot_scalar;
#ifdef EDGERT_X86
    // AMD's vgatherdps is slower than scalar loads (1024 x 1024 at 80 %: 80 us gathered, 65-69 us scalar);
    // Intel's is faster.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !__builtin_cpu_is("amd")) return dot_avx2;
#endif
#ifdef EDGERT_NEON
    return dot_neon;
#endif
    return dot_scalar;
}

void run_outputs(DotFn dot, const float* x, int64_t m, int64_t k, const CsrView& w, const float* bias, float* y,
                 int64_t first, int64_t last) {
    const int64_t n = w.rows;
    for (int64_t out = first; out < last; ++out) {
        const int64_t begin = w.row_starts[out];
        const int64_t count = w.row_starts[out + 1] - begin;
        const float b = bias ? bias[out] : 0.0f;
        for (int64_t row = 0; row < m; ++row) {
            y[row * n + out] = b + dot(x + row * k, w.columns + begin, w.values + begin, count);
        }
    }
}

}  // namespace

const char* simd_path() {
    BlockFn block = pick_block(Kernel::Auto);
#ifdef EDGERT_X86
    if (block == block_avx2) return pick(Kernel::Auto) == dot_avx2 ? "avx2" : "avx2 (scalar-load CSR dot)";
#endif
    (void)block;
#ifdef EDGERT_NEON
    return "neon";
#endif
    return "scalar";
}

void sparse_matmul(const float* x, int64_t m, int64_t k, const CsrView& weights_t, const float* bias, float* y,
                   int threads, Kernel kernel) {
    if (m < 0 || k < 0) throw std::invalid_argument("sparse_matmul: negative dimension");
    if (weights_t.cols != k) throw std::invalid_argument("sparse_matmul: weights have a different inner dimension than x");
    const int64_t n = weights_t.rows;
    if (m == 0 || n == 0) return;
    DotFn dot = pick(kernel);
    // From a few rows on, one transpose of x buys SIMD over rows for every weight.
    const bool batched = m >= 4;
    std::vector<float> xt;
    int64_t m_padded = 0;
    BlockFn block = pick_block(kernel);
    if (batched) {
        m_padded = (m + kLanes - 1) / kLanes * kLanes;
        xt.assign(static_cast<size_t>(k * m_padded), 0.0f);
        for (int64_t r = 0; r < m; ++r)
            for (int64_t c = 0; c < k; ++c) xt[c * m_padded + r] = x[r * k + c];
    }
    auto run = [&](int64_t first, int64_t last) {
        if (batched) run_outputs_batched(block, xt.data(), m, m_padded, weights_t, bias, y, first, last);
        else run_outputs(dot, x, m, k, weights_t, bias, y, first, last);
    };

    detail::parallel_over_units(weights_t.row_starts, n, m * std::max<int64_t>(weights_t.nonzeros(), n), threads, run);
}

}  // namespace edgert::sparse
