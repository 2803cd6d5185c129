#pragma once

#include <cstdint>
#include <vector>

namespace edgert::sparse {

// A borrowed CSR matrix: the kernel's input, whether the arrays live in a CsrMatrix or in ONNX Runtime tensors.
struct CsrView {
    int64_t rows = 0;
    int64_t cols = 0;
    const int64_t* row_starts = nullptr;  // rows + 1 entries, row_starts[0] == 0, non-decreasing
    const int32_t* columns = nullptr;     // row_starts[rows] entries, each in [0, cols)
    const float* values = nullptr;

    int64_t nonzeros() const { return rows > 0 ? row_starts[rows] : 0; }

    // Throws std::invalid_argument naming the first inconsistency; the kernel trusts a validated view.
    void validate(int64_t value_count) const;
};

// A float matrix in compressed sparse row form: row r's non-zeros are values[row_starts[r] .. row_starts[r + 1]),
// in the columns given by columns[] at the same positions.
struct CsrMatrix {
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<int64_t> row_starts;  // rows + 1 entries
    std::vector<int32_t> columns;
    std::vector<float> values;

    int64_t nonzeros() const { return static_cast<int64_t>(values.size()); }

    CsrView view() const { return {rows, cols, row_starts.data(), columns.data(), values.data()}; }

    // Compresses a row-major dense matrix, keeping only exact non-zeros (pruned weights are exact zeros).
    static CsrMatrix from_dense(const float* dense, int64_t rows, int64_t cols);

    // Compresses the transpose of a row-major [rows, cols] matrix: the result has `cols` rows.
    static CsrMatrix from_dense_transposed(const float* dense, int64_t rows, int64_t cols);
};

}  // namespace edgert::sparse
