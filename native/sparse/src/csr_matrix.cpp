#include "csr_matrix.h"

#include <limits>
#include <stdexcept>
#include <string>

namespace edgert::sparse {

namespace {

void check_shape(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0) throw std::invalid_argument("CSR matrix: negative dimension");
    // Column indices are 32-bit to halve index traffic; weight matrices are far narrower than that.
    if (cols > std::numeric_limits<int32_t>::max()) throw std::invalid_argument("CSR matrix: more than 2^31 columns");
}

}  // namespace

void CsrView::validate(int64_t value_count) const {
    if (rows < 0 || cols < 0) throw std::invalid_argument("CSR matrix: negative dimension");
    if (row_starts == nullptr) throw std::invalid_argument("CSR matrix: no row starts");
    if (row_starts[0] != 0) throw std::invalid_argument("CSR matrix: row starts must begin at 0");
    for (int64_t r = 0; r < rows; ++r)
        if (row_starts[r + 1] < row_starts[r]) throw std::invalid_argument("CSR matrix: row starts decrease at row " + std::to_string(r));
    if (row_starts[rows] != value_count)
        throw std::invalid_argument("CSR matrix: row starts end at " + std::to_string(row_starts[rows]) + " but there are " +
                                    std::to_string(value_count) + " values");
    for (int64_t i = 0; i < value_count; ++i)
        if (columns[i] < 0 || columns[i] >= cols)
            throw std::invalid_argument("CSR matrix: column index " + std::to_string(columns[i]) + " outside [0, " + std::to_string(cols) + ")");
}

CsrMatrix CsrMatrix::from_dense(const float* dense, int64_t rows, int64_t cols) {
    check_shape(rows, cols);
    CsrMatrix result;
    result.rows = rows;
    result.cols = cols;
    result.row_starts.reserve(static_cast<size_t>(rows) + 1);
    result.row_starts.push_back(0);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            float v = dense[r * cols + c];
            if (v != 0.0f) {
                result.columns.push_back(static_cast<int32_t>(c));
                result.values.push_back(v);
            }
        }
        result.row_starts.push_back(result.nonzeros());
    }
    return result;
}

CsrMatrix CsrMatrix::from_dense_transposed(const float* dense, int64_t rows, int64_t cols) {
    check_shape(cols, rows);
    CsrMatrix result;
    result.rows = cols;
    result.cols = rows;
    result.row_starts.reserve(static_cast<size_t>(cols) + 1);
    result.row_starts.push_back(0);
    for (int64_t c = 0; c < cols; ++c) {
        for (int64_t r = 0; r < rows; ++r) {
            float v = dense[r * cols + c];
            if (v != 0.0f) {
                result.columns.push_back(static_cast<int32_t>(r));
                result.values.push_back(v);
            }
        }
        result.row_starts.push_back(result.nonzeros());
    }
    return result;
}

}  // namespace edgert::sparse
