#pragma once
// Writes small ONNX models (a chain of fully connected layers) as protobuf bytes, with no protobuf library:
// enough for the tests and the benchmark to compare ONNX Runtime's dense MatMul with SparseMatMul.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "block_sparse.h"
#include "csr_matrix.h"

namespace edgert::sparse::testing {

class Proto {
public:
    Proto& varint(int field, uint64_t value) {
        key(field, 0);
        raw_varint(value);
        return *this;
    }
    Proto& bytes(int field, const void* data, size_t size) {
        key(field, 2);
        raw_varint(size);
        auto p = static_cast<const char*>(data);
        out_.insert(out_.end(), p, p + size);
        return *this;
    }
    Proto& str(int field, const std::string& s) { return bytes(field, s.data(), s.size()); }
    Proto& msg(int field, const Proto& m) { return bytes(field, m.out_.data(), m.out_.size()); }
    const std::string& data() const { return out_; }

private:
    void key(int field, int wire) { raw_varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
    void raw_varint(uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    std::string out_;
};

enum DataType { kFloat = 1, kInt32 = 6, kInt64 = 7 };

template <typename T>
Proto tensor(const std::string& name, DataType type, const std::vector<int64_t>& dims, const std::vector<T>& values) {
    Proto t;
    for (int64_t d : dims) t.varint(1, static_cast<uint64_t>(d));
    t.varint(2, type).str(8, name);
    t.bytes(9, values.data(), values.size() * sizeof(T));
    return t;
}

// A float tensor value: dims < 0 become symbolic ("batch", then "d2", "d3").
inline Proto value_info(const std::string& name, const std::vector<int64_t>& dims) {
    Proto shape;
    for (int64_t d : dims) {
        Proto dim;
        if (d < 0) dim.str(2, d == -1 ? "batch" : "d" + std::to_string(-d)); else dim.varint(1, static_cast<uint64_t>(d));
        shape.msg(1, dim);
    }
    Proto tensor_type;
    tensor_type.varint(1, kFloat).msg(2, shape);
    Proto type;
    type.msg(1, tensor_type);
    Proto info;
    info.str(1, name).msg(2, type);
    return info;
}

inline Proto node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                  const std::string& domain = "") {
    Proto n;
    for (const auto& i : inputs) n.str(1, i);
    n.str(2, output).str(3, output + "_node").str(4, op);
    if (!domain.empty()) n.str(7, domain);
    return n;
}

struct Layer {
    int64_t k = 0, n = 0;
    std::vector<float> weights;  // row-major [k, n]
    std::vector<float> bias;     // n entries
};

inline Proto int_attribute(const std::string& name, int64_t value) {
    Proto attribute;
    attribute.str(1, name).varint(3, static_cast<uint64_t>(value)).varint(20, 2);
    return attribute;
}

enum class Format { Dense, Csr, Block };

inline std::string finish_model(const Proto& graph, bool custom) {
    Proto opset, custom_opset, model;
    opset.str(1, "").varint(2, 17);
    custom_opset.str(1, "com.edgeruntime.sparse").varint(2, 1);
    model.varint(1, 8).str(2, "edgert-native-tests").msg(7, graph).msg(8, opset);
    if (custom) model.msg(8, custom_opset);
    return model.data();
}

// Input "x" [rows..., K0] -> layer -> Relu -> layer ... -> output "y": each layer MatMul + Add (dense),
// SparseMatMul (CSR) or SparseBlockMatMul (1 x 8 blocks). sparse_threads > 0 sets the op's threads attribute.
inline std::string mlp_model(const std::vector<Layer>& layers, const std::vector<int64_t>& leading_dims, Format format,
                             int64_t sparse_threads = 0) {
    const bool sparse = format != Format::Dense;
    Proto graph;
    graph.str(2, sparse ? "sparse_mlp" : "dense_mlp");
    std::string current = "x";
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto& layer = layers[i];
        std::string id = std::to_string(i);
        std::string out = i + 1 == layers.size() ? "y" : "h" + id;
        std::string linear = i + 1 == layers.size() ? out : "linear" + id;
        graph.msg(5, tensor("b" + id, kFloat, {layer.n}, layer.bias));
        if (format == Format::Block) {
            auto blocks = BlockSparseMatrix::from_dense(layer.weights.data(), layer.k, layer.n);
            graph.msg(5, tensor("starts" + id, kInt64, {static_cast<int64_t>(blocks.group_starts.size())}, blocks.group_starts));
            graph.msg(5, tensor("rows" + id, kInt32, {static_cast<int64_t>(blocks.block_rows.size())}, blocks.block_rows));
            graph.msg(5, tensor("values" + id, kFloat, {static_cast<int64_t>(blocks.values.size())}, blocks.values));
            auto op = node("SparseBlockMatMul", {current, "starts" + id, "rows" + id, "values" + id, "b" + id}, linear,
                           "com.edgeruntime.sparse");
            op.msg(5, int_attribute("n", layer.n));
            if (sparse_threads > 0) op.msg(5, int_attribute("threads", sparse_threads));
            graph.msg(1, op);
        } else if (sparse) {
            auto csr = CsrMatrix::from_dense_transposed(layer.weights.data(), layer.k, layer.n);
            graph.msg(5, tensor("starts" + id, kInt64, {csr.rows + 1}, csr.row_starts));
            graph.msg(5, tensor("columns" + id, kInt32, {csr.nonzeros()}, csr.columns));
            graph.msg(5, tensor("values" + id, kFloat, {csr.nonzeros()}, csr.values));
            auto op = node("SparseMatMul", {current, "starts" + id, "columns" + id, "values" + id, "b" + id}, linear,
                           "com.edgeruntime.sparse");
            if (sparse_threads > 0) op.msg(5, int_attribute("threads", sparse_threads));
            graph.msg(1, op);
        } else {
            graph.msg(5, tensor("w" + id, kFloat, {layer.k, layer.n}, layer.weights));
            graph.msg(1, node("MatMul", {current, "w" + id}, "mm" + id));
            graph.msg(1, node("Add", {"mm" + id, "b" + id}, linear));
        }
        if (i + 1 < layers.size()) graph.msg(1, node("Relu", {linear}, out));
        current = out;
    }
    std::vector<int64_t> in_dims = leading_dims, out_dims = leading_dims;
    in_dims.push_back(layers.front().k);
    out_dims.push_back(layers.back().n);
    graph.msg(11, value_info("x", in_dims));
    graph.msg(12, value_info("y", out_dims));
    return finish_model(graph, sparse);
}

inline std::string mlp_model(const std::vector<Layer>& layers, const std::vector<int64_t>& leading_dims, bool sparse,
                             int64_t sparse_threads = 0) {
    return mlp_model(layers, leading_dims, sparse ? Format::Csr : Format::Dense, sparse_threads);
}

// Input "x" [batch, C, H, W] -> one 1 x 1 convolution with weights [M, C] (row-major) and bias -> "y" [batch, M, H, W]:
// ONNX Conv, or SparseConv1x1 on the CSR form of the weights. Batch and spatial sizes are symbolic.
inline std::string conv1x1_model(int64_t channels, int64_t outputs, const std::vector<float>& weights, const std::vector<float>& bias,
                                 bool sparse, int64_t sparse_threads = 0) {
    Proto graph;
    graph.str(2, sparse ? "sparse_conv" : "dense_conv");
    graph.msg(5, tensor("b", kFloat, {outputs}, bias));
    if (sparse) {
        auto csr = CsrMatrix::from_dense(weights.data(), outputs, channels);
        graph.msg(5, tensor("starts", kInt64, {csr.rows + 1}, csr.row_starts));
        graph.msg(5, tensor("columns", kInt32, {csr.nonzeros()}, csr.columns));
        graph.msg(5, tensor("values", kFloat, {csr.nonzeros()}, csr.values));
        auto op = node("SparseConv1x1", {"x", "starts", "columns", "values", "b"}, "y", "com.edgeruntime.sparse");
        if (sparse_threads > 0) op.msg(5, int_attribute("threads", sparse_threads));
        graph.msg(1, op);
    } else {
        graph.msg(5, tensor("w", kFloat, {outputs, channels, 1, 1}, weights));
        graph.msg(1, node("Conv", {"x", "w", "b"}, "y"));
    }
    graph.msg(11, value_info("x", {-1, channels, -2, -3}));
    graph.msg(12, value_info("y", {-1, outputs, -2, -3}));
    return finish_model(graph, sparse);
}

}  // namespace edgert::sparse::testing
