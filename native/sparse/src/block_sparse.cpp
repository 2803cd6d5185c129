#include "block_sparse.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDGERT_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define EDGERT_NEON 1
#endif

namespace edgert::sparse {

void BlockSparseView::validate(int64_t starts_count, int64_t row_count, int64_t value_count) const {
    if (k < 0 || n < 0) throw std::invalid_argument("block-sparse matrix: negative dimension");
    if (k > std::numeric_limits<int32_t>::max()) throw std::invalid_argument("block-sparse matrix: more than 2^31 inputs");
    const int64_t g = groups();
    if (starts_count != g + 1)
        throw std::invalid_argument("block-sparse matrix: group_starts has " + std::to_string(starts_count) +
                                    " entries, expected ceil(N / 8) + 1 = " + std::to_string(g + 1) + " for N = " + std::to_string(n));
    if (group_starts[0] != 0) throw std::invalid_argument("block-sparse matrix: group starts must begin at 0");
    for (int64_t i = 0; i < g; ++i)
        if (group_starts[i + 1] < group_starts[i])
            throw std::invalid_argument("block-sparse matrix: group starts decrease at group " + std::to_string(i));
    if (group_starts[g] != row_count)
        throw std::invalid_argument("block-sparse matrix: group starts end at " + std::to_string(group_starts[g]) + " but there are " +
                                    std::to_string(row_count) + " block rows");
    if (value_count != row_count * kBlockWidth)
        throw std::invalid_argument("block-sparse matrix: " + std::to_string(value_count) + " values for " + std::to_string(row_count) +
                                    " blocks, expected 8 per block");
    for (int64_t b = 0; b < row_count; ++b)
        if (block_rows[b] < 0 || block_rows[b] >= k)
            throw std::invalid_argument("block-sparse matrix: block row " + std::to_string(block_rows[b]) + " outside [0, " +
                                        std::to_string(k) + ")");
}

BlockSparseMatrix BlockSparseMatrix::from_dense(const float* dense, int64_t k, int64_t n) {
    if (k < 0 || n < 0) throw std::invalid_argument("block-sparse matrix: negative dimension");
    if (k > std::numeric_limits<int32_t>::max()) throw std::invalid_argument("block-sparse matrix: more than 2^31 inputs");
    BlockSparseMatrix result;
    result.k = k;
    result.n = n;
    const int64_t groups = (n + kBlockWidth - 1) / kBlockWidth;
    result.group_starts.push_back(0);
    for (int64_t g = 0; g < groups; ++g) {
        const int64_t first = g * kBlockWidth, width = std::min(kBlockWidth, n - first);
        for (int64_t r = 0; r < k; ++r) {
            const float* row = dense + r * n + first;
            if (std::none_of(row, row + width, [](float v) { return v != 0.0f; })) continue;
            result.block_rows.push_back(static_cast<int32_t>(r));
            for (int64_t t = 0; t < kBlockWidth; ++t) result.values.push_back(t < width ? row[t] : 0.0f);
        }
        result.group_starts.push_back(static_cast<int64_t>(result.block_rows.size()));
    }
    return result;
}

namespace {

// ---- block-sparse MatMul: one output group (8 outputs) for `rows` input rows starting at x ----
// out receives rows * 8 sums, row-major.
using GroupFn = void (*)(const float* x, int64_t rows, int64_t k, const int32_t* block_rows, const float* values,
                         int64_t count, float* out);

void group_scalar(const float* x, int64_t rows, int64_t k, const int32_t* block_rows, const float* values, int64_t count,
                  float* out) {
    for (int64_t r = 0; r < rows; ++r) {
        float acc[kBlockWidth] = {};
        const float* xr = x + r * k;
        for (int64_t b = 0; b < count; ++b) {
            const float v = xr[block_rows[b]];
            for (int64_t t = 0; t < kBlockWidth; ++t) acc[t] += v * values[b * kBlockWidth + t];
        }
        std::memcpy(out + r * kBlockWidth, acc, sizeof acc);
    }
}

#ifdef EDGERT_X86
__attribute__((target("avx2,fma"))) void group_avx2(const float* x, int64_t rows, int64_t k, const int32_t* block_rows,
                                                    const float* values, int64_t count, float* out) {
    int64_t r = 0;
    // Four rows share each loaded block; two blocks in flight give eight independent accumulators.
    for (; r + 4 <= rows; r += 4) {
        const float* x0 = x + r * k;
        const float* x1 = x0 + k;
        const float* x2 = x1 + k;
        const float* x3 = x2 + k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int64_t b = 0;
        for (; b + 2 <= count; b += 2) {
            const int64_t i = block_rows[b], j = block_rows[b + 1];
            const __m256 v = _mm256_loadu_ps(values + b * kBlockWidth);
            const __m256 w = _mm256_loadu_ps(values + (b + 1) * kBlockWidth);
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + i), v, a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + i), v, a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x2 + i), v, a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x3 + i), v, a3);
            b0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + j), w, b0);
            b1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + j), w, b1);
            b2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x2 + j), w, b2);
            b3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x3 + j), w, b3);
        }
        if (b < count) {
            const int64_t i = block_rows[b];
            const __m256 v = _mm256_loadu_ps(values + b * kBlockWidth);
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + i), v, a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + i), v, a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x2 + i), v, a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x3 + i), v, a3);
        }
        _mm256_storeu_ps(out + (r + 0) * kBlockWidth, _mm256_add_ps(a0, b0));
        _mm256_storeu_ps(out + (r + 1) * kBlockWidth, _mm256_add_ps(a1, b1));
        _mm256_storeu_ps(out + (r + 2) * kBlockWidth, _mm256_add_ps(a2, b2));
        _mm256_storeu_ps(out + (r + 3) * kBlockWidth, _mm256_add_ps(a3, b3));
    }
    // Single rows (batch 1): four blocks in flight hide the multiply-add latency.
    for (; r < rows; ++r) {
        const float* xr = x + r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t b = 0;
        for (; b + 4 <= count; b += 4) {
            const float* v = values + b * kBlockWidth;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + block_rows[b]), _mm256_loadu_ps(v), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + block_rows[b + 1]), _mm256_loadu_ps(v + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + block_rows[b + 2]), _mm256_loadu_ps(v + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + block_rows[b + 3]), _mm256_loadu_ps(v + 24), a3);
        }
        for (; b < count; ++b)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + block_rows[b]), _mm256_loadu_ps(values + b * kBlockWidth), a0);
        _mm256_storeu_ps(out + r * kBlockWidth, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}
#endif

#ifdef EDGERT_NEON
void group_neon(const float* x, int64_t rows, int64_t k, const int32_t* block_rows, const float* values, int64_t count,
                float* out) {
    int64_t r = 0;
    // Four rows share each loaded block (two registers): eight accumulators.
    for (; r + 4 <= rows; r += 4) {
        const float* xs[4] = {x + r * k, x + (r + 1) * k, x + (r + 2) * k, x + (r + 3) * k};
        float32x4_t lo[4], hi[4];
        for (int u = 0; u < 4; ++u) lo[u] = hi[u] = vdupq_n_f32(0);
        for (int64_t b = 0; b < count; ++b) {
            const int64_t i = block_rows[b];
            const float32x4_t vl = vld1q_f32(values + b * kBlockWidth);
            const float32x4_t vh = vld1q_f32(values + b * kBlockWidth + 4);
            for (int u = 0; u < 4; ++u) {
                lo[u] = vfmaq_n_f32(lo[u], vl, xs[u][i]);
                hi[u] = vfmaq_n_f32(hi[u], vh, xs[u][i]);
            }
        }
        for (int u = 0; u < 4; ++u) {
            vst1q_f32(out + (r + u) * kBlockWidth, lo[u]);
            vst1q_f32(out + (r + u) * kBlockWidth + 4, hi[u]);
        }
    }
    for (; r < rows; ++r) {
        const float* xr = x + r * k;
        float32x4_t l0 = vdupq_n_f32(0), h0 = l0, l1 = l0, h1 = l0;
        int64_t b = 0;
        for (; b + 2 <= count; b += 2) {
            const float* v = values + b * kBlockWidth;
            const float s = xr[block_rows[b]], t = xr[block_rows[b + 1]];
            l0 = vfmaq_n_f32(l0, vld1q_f32(v), s);
            h0 = vfmaq_n_f32(h0, vld1q_f32(v + 4), s);
            l1 = vfmaq_n_f32(l1, vld1q_f32(v + 8), t);
            h1 = vfmaq_n_f32(h1, vld1q_f32(v + 12), t);
        }
        if (b < count) {
            const float* v = values + b * kBlockWidth;
            const float s = xr[block_rows[b]];
            l0 = vfmaq_n_f32(l0, vld1q_f32(v), s);
            h0 = vfmaq_n_f32(h0, vld1q_f32(v + 4), s);
        }
        vst1q_f32(out + r * kBlockWidth, vaddq_f32(l0, l1));
        vst1q_f32(out + r * kBlockWidth + 4, vaddq_f32(h0, h1));
    }
}
#endif

GroupFn pick_group(Kernel kernel) {
    if (kernel == Kernel::Scalar) return group_scalar;
#ifdef EDGERT_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return group_avx2;
#endif
#ifdef EDGERT_NEON
    return group_neon;
#endif
    return group_scalar;
}

// ---- sparse 1x1 convolution: outputs [first, last) of one image, all pixels ----
using ConvFn = void (*)(const float* x, int64_t pixels, const CsrView& w, const float* bias, float* y, int64_t first,
                        int64_t last);

void conv_scalar(const float* x, int64_t pixels, const CsrView& w, const float* bias, float* y, int64_t first, int64_t last) {
    for (int64_t o = first; o < last; ++o) {
        float* out = y + o * pixels;
        std::fill(out, out + pixels, bias ? bias[o] : 0.0f);
        for (int64_t i = w.row_starts[o]; i < w.row_starts[o + 1]; ++i) {
            const float v = w.values[i];
            const float* src = x + static_cast<int64_t>(w.columns[i]) * pixels;
            for (int64_t p = 0; p < pixels; ++p) out[p] += v * src[p];
        }
    }
}

// Pixels go in tiles that fit L1 across the channels used; inside a tile every weight is one broadcast and a
// run of vector multiply-adds, the accumulators staying in registers.
constexpr int64_t kPixelTile = 256;

#ifdef EDGERT_X86
__attribute__((target("avx2,fma"))) void conv_avx2(const float* x, int64_t pixels, const CsrView& w, const float* bias,
                                                   float* y, int64_t first, int64_t last) {
    for (int64_t p0 = 0; p0 < pixels; p0 += kPixelTile) {
        const int64_t tile_end = std::min(pixels, p0 + kPixelTile);
        for (int64_t o = first; o < last; ++o) {
            const int64_t begin = w.row_starts[o], end = w.row_starts[o + 1];
            const float b = bias ? bias[o] : 0.0f;
            float* out = y + o * pixels;
            int64_t p = p0;
            for (; p + 32 <= tile_end; p += 32) {
                __m256 a0 = _mm256_set1_ps(b), a1 = a0, a2 = a0, a3 = a0;
                for (int64_t i = begin; i < end; ++i) {
                    const __m256 v = _mm256_broadcast_ss(w.values + i);
                    const float* src = x + static_cast<int64_t>(w.columns[i]) * pixels + p;
                    a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(src), a0);
                    a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(src + 8), a1);
                    a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(src + 16), a2);
                    a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(src + 24), a3);
                }
                _mm256_storeu_ps(out + p, a0);
                _mm256_storeu_ps(out + p + 8, a1);
                _mm256_storeu_ps(out + p + 16, a2);
                _mm256_storeu_ps(out + p + 24, a3);
            }
            for (; p + 8 <= tile_end; p += 8) {
                __m256 a0 = _mm256_set1_ps(b), a1 = _mm256_setzero_ps();
                int64_t i = begin;
                for (; i + 2 <= end; i += 2) {
                    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w.values + i),
                                         _mm256_loadu_ps(x + static_cast<int64_t>(w.columns[i]) * pixels + p), a0);
                    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w.values + i + 1),
                                         _mm256_loadu_ps(x + static_cast<int64_t>(w.columns[i + 1]) * pixels + p), a1);
                }
                if (i < end)
                    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w.values + i),
                                         _mm256_loadu_ps(x + static_cast<int64_t>(w.columns[i]) * pixels + p), a0);
                _mm256_storeu_ps(out + p, _mm256_add_ps(a0, a1));
            }
            for (; p < tile_end; ++p) {
                float sum = b;
                for (int64_t i = begin; i < end; ++i) sum += w.values[i] * x[static_cast<int64_t>(w.columns[i]) * pixels + p];
                out[p] = sum;
            }
        }
    }
}
#endif

#ifdef EDGERT_NEON
void conv_neon(const float* x, int64_t pixels, const CsrView& w, const float* bias, float* y, int64_t first, int64_t last) {
    for (int64_t p0 = 0; p0 < pixels; p0 += kPixelTile) {
        const int64_t tile_end = std::min(pixels, p0 + kPixelTile);
        for (int64_t o = first; o < last; ++o) {
            const int64_t begin = w.row_starts[o], end = w.row_starts[o + 1];
            const float b = bias ? bias[o] : 0.0f;
            float* out = y + o * pixels;
            int64_t p = p0;
            for (; p + 16 <= tile_end; p += 16) {
                float32x4_t a0 = vdupq_n_f32(b), a1 = a0, a2 = a0, a3 = a0;
                for (int64_t i = begin; i < end; ++i) {
                    const float v = w.values[i];
                    const float* src = x + static_cast<int64_t>(w.columns[i]) * pixels + p;
                    a0 = vfmaq_n_f32(a0, vld1q_f32(src), v);
                    a1 = vfmaq_n_f32(a1, vld1q_f32(src + 4), v);
                    a2 = vfmaq_n_f32(a2, vld1q_f32(src + 8), v);
                    a3 = vfmaq_n_f32(a3, vld1q_f32(src + 12), v);
                }
                vst1q_f32(out + p, a0);
                vst1q_f32(out + p + 4, a1);
                vst1q_f32(out + p + 8, a2);
                vst1q_f32(out + p + 12, a3);
            }
            for (; p + 4 <= tile_end; p += 4) {
                float32x4_t a0 = vdupq_n_f32(b);
                for (int64_t i = begin; i < end; ++i)
                    a0 = vfmaq_n_f32(a0, vld1q_f32(x + static_cast<int64_t>(w.columns[i]) * pixels + p), w.values[i]);
                vst1q_f32(out + p, a0);
            }
            for (; p < tile_end; ++p) {
                float sum = b;
                for (int64_t i = begin; i < end; ++i) sum += w.values[i] * x[static_cast<int64_t>(w.columns[i]) * pixels + p];
                out[p] = sum;
            }
        }
    }
}
#endif

ConvFn pick_conv(Kernel kernel) {
    if (kernel == Kernel::Scalar) return conv_scalar;
#ifdef EDGERT_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return conv_avx2;
#endif
#ifdef EDGERT_NEON
    return conv_neon;
#endif
    return conv_scalar;
}

}  // namespace

void block_sparse_matmul(const float* x, int64_t m, int64_t k, const BlockSparseView& weights, const float* bias, float* y,
                         int threads, Kernel kernel) {
    if (m < 0 || k < 0) throw std::invalid_argument("block_sparse_matmul: negative dimension");
    if (weights.k != k) throw std::invalid_argument("block_sparse_matmul: weights have a different inner dimension than x");
    const int64_t n = weights.n;
    if (m == 0 || n == 0) return;
    const GroupFn group = pick_group(kernel);
    const int64_t groups = weights.groups();
    // Rows go in chunks so a chunk's sums for one group stay small and in L1.
    constexpr int64_t kRowChunk = 64;
    auto run = [&](int64_t first, int64_t last) {
        float sums[kRowChunk * kBlockWidth];
        for (int64_t r0 = 0; r0 < m; r0 += kRowChunk) {
            const int64_t rows = std::min(kRowChunk, m - r0);
            for (int64_t g = first; g < last; ++g) {
                const int64_t begin = weights.group_starts[g];
                group(x + r0 * k, rows, k, weights.block_rows + begin, weights.values + begin * kBlockWidth,
                      weights.group_starts[g + 1] - begin, sums);
                const int64_t o0 = g * kBlockWidth, width = std::min(kBlockWidth, n - o0);
                for (int64_t r = 0; r < rows; ++r) {
                    float* out = y + (r0 + r) * n + o0;
                    for (int64_t t = 0; t < width; ++t) out[t] = sums[r * kBlockWidth + t] + (bias ? bias[o0 + t] : 0.0f);
                }
            }
        }
    };
    detail::parallel_over_units(weights.group_starts, groups, m * std::max<int64_t>(weights.blocks() * kBlockWidth, n),
                                threads, run);
}

void sparse_conv1x1(const float* x, int64_t batch, int64_t channels, int64_t pixels, const CsrView& weights,
                    const float* bias, float* y, int threads, Kernel kernel) {
    if (batch < 0 || channels < 0 || pixels < 0) throw std::invalid_argument("sparse_conv1x1: negative dimension");
    if (weights.cols != channels)
        throw std::invalid_argument("sparse_conv1x1: weights have " + std::to_string(weights.cols) + " input channels, x has " +
                                    std::to_string(channels));
    const int64_t outputs = weights.rows;
    if (batch == 0 || outputs == 0 || pixels == 0) return;
    const ConvFn conv = pick_conv(kernel);
    auto run = [&](int64_t first, int64_t last) {
        for (int64_t b = 0; b < batch; ++b)
            conv(x + b * channels * pixels, pixels, weights, bias, y + b * outputs * pixels, first, last);
    };
    detail::parallel_over_units(weights.row_starts, outputs, batch * pixels * std::max<int64_t>(weights.nonzeros(), outputs),
                                threads, run);
}

}  // namespace edgert::sparse
