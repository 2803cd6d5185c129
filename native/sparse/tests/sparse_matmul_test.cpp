// Checks the sparse kernel against a plain dense product over random shapes and sparsities,
// including empty rows, an all-zero weight matrix, batch > 1, and every thread count.
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

#include "sparse_matmul.h"

using edgert::sparse::CsrMatrix;
using edgert::sparse::Kernel;

namespace {

int failures = 0;
int checks = 0;

std::vector<float> dense_reference(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                                   int64_t m, int64_t k, int64_t n) {
    std::vector<float> y(static_cast<size_t>(m * n));
    for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
            double sum = bias.empty() ? 0.0 : bias[c];
            for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(x[r * k + i]) * w[i * n + c];
            y[r * n + c] = static_cast<float>(sum);
        }
    return y;
}

void check_case(std::mt19937& rng, int64_t m, int64_t k, int64_t n, double sparsity, bool empty_columns, bool with_bias) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(k * n)), bias;
    for (auto& v : x) v = value(rng);
    for (auto& v : w) v = keep(rng) < sparsity ? 0.0f : value(rng);
    if (empty_columns)  // every third output loses all its weights: an empty CSR row
        for (int64_t i = 0; i < k; ++i)
            for (int64_t c = 0; c < n; c += 3) w[i * n + c] = 0.0f;
    if (with_bias) {
        bias.resize(static_cast<size_t>(n));
        for (auto& v : bias) v = value(rng);
    }
    auto expected = dense_reference(x, w, bias, m, k, n);
    auto csr = CsrMatrix::from_dense_transposed(w.data(), k, n);
    for (Kernel kernel : {Kernel::Auto, Kernel::Scalar}) {
        for (int threads : {1, 2, 3, 8}) {
            std::vector<float> y(static_cast<size_t>(m * n), NAN);
            edgert::sparse::sparse_matmul(x.data(), m, k, csr.view(), with_bias ? bias.data() : nullptr, y.data(), threads, kernel);
            ++checks;
            for (size_t i = 0; i < y.size(); ++i) {
                double tolerance = 1e-5 * (1.0 + static_cast<double>(k));
                if (!(std::fabs(y[i] - expected[i]) <= tolerance)) {
                    std::printf("FAIL m=%lld k=%lld n=%lld sparsity=%.2f empty=%d bias=%d kernel=%s threads=%d: y[%zu]=%g expected %g\n",
                                static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n), sparsity,
                                empty_columns, with_bias, kernel == Kernel::Auto ? "auto" : "scalar", threads, i, y[i], expected[i]);
                    ++failures;
                    break;
                }
            }
        }
    }
}

void check_rejects_wrong_inner_dimension() {
    std::vector<float> w(6, 1.0f), x(4, 1.0f), y(6);
    auto csr = CsrMatrix::from_dense_transposed(w.data(), 3, 2);
    ++checks;
    try {
        edgert::sparse::sparse_matmul(x.data(), 1, 4, csr.view(), nullptr, y.data());
        std::printf("FAIL: a K mismatch was not rejected\n");
        ++failures;
    } catch (const std::invalid_argument&) {
    }
}

}  // namespace

int main() {
    std::mt19937 rng(20261129);
    const int64_t batches[] = {1, 2, 8, 17};
    const int64_t inners[] = {1, 7, 64, 300};
    const int64_t outputs[] = {1, 5, 96, 257};
    const double sparsities[] = {0.0, 0.5, 0.8, 0.9, 0.99, 1.0};
    for (int64_t m : batches)
        for (int64_t k : inners)
            for (int64_t n : outputs)
                for (double s : sparsities) check_case(rng, m, k, n, s, (m + k + n) % 2 == 0, (k + n) % 3 != 0);
    // Large enough to take the multithreaded split; all-zero and empty-row forms too.
    check_case(rng, 8, 768, 3072, 0.8, true, true);
    check_case(rng, 1, 3072, 768, 0.9, false, true);
    check_case(rng, 4, 512, 512, 1.0, false, false);
    check_case(rng, 0, 16, 16, 0.5, false, true);
    check_case(rng, 3, 0, 16, 0.5, false, true);
    check_rejects_wrong_inner_dimension();
    std::printf("sparse_matmul (%s path): %d checks, %d failures\n", edgert::sparse::simd_path(), checks, failures);
    return failures == 0 ? 0 : 1;
}
