// ONNX Runtime custom-op library, domain com.edgeruntime.sparse, version 1:
//   SparseMatMul       Y[..., N] = X[..., K] * W[K, N] (+ bias[N]), W as the CSR form of its transpose:
//                      X, row_starts (int64, N + 1), columns (int32, nnz), values (float, nnz), bias (optional);
//   SparseBlockMatMul  the same product with W in 1 x 8 blocks along N (see block_sparse.h): X, group_starts
//                      (int64, ceil(N / 8) + 1), block_rows (int32, blocks), values (float, 8 * blocks), bias;
//                      attribute n = N (required);
//   SparseConv1x1      1 x 1 convolution, NCHW, stride 1, one group: X [B, C, spatial...], W [M, C] in CSR
//                      (row_starts M + 1, columns, values), bias [M] optional.
//   Every op takes attribute threads (int, optional, 0 = one per hardware thread).
// Loaded with SessionOptions.RegisterCustomOpLibrary; the entry point is RegisterCustomOps.
#define ORT_API_MANUAL_INIT
#include "onnxruntime_cxx_api.h"
#undef ORT_API_MANUAL_INIT

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "block_sparse.h"
#include "sparse_matmul.h"

namespace {

using edgert::sparse::BlockSparseView;
using edgert::sparse::CsrView;

constexpr const char* kDomain = "com.edgeruntime.sparse";

// Shared by the ops: the optional `threads` attribute, errors turned into ONNX Runtime statuses naming the op,
// and a once-per-weights validation (the weights are initializers that stay put, and checking them costs as
// much as one batch-1 product).
class KernelBase {
public:
    KernelBase(const OrtApi& api, const OrtKernelInfo* info, const char* name) : api_(api), name_(name) {
        int64_t threads = 0;
        // An absent attribute leaves the default; GetAttribute would throw.
        Ort::Status status(api.KernelInfoGetAttribute_int64(info, "threads", &threads));
        threads_ = status.IsOK() && threads > 0 ? static_cast<int>(threads) : 0;
    }

protected:
    template <typename Compute>
    OrtStatusPtr Guard(Compute compute) {
        try {
            compute();
            return nullptr;
        } catch (const Ort::Exception& e) {
            return api_.CreateStatus(e.GetOrtErrorCode(), e.what());
        } catch (const std::exception& e) {
            return api_.CreateStatus(ORT_INVALID_ARGUMENT, (std::string(name_) + ": " + e.what()).c_str());
        }
    }

    template <typename Validate>
    void EnsureValidated(std::array<const void*, 3> pointers, std::array<int64_t, 4> sizes, Validate validate) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (pointers == validated_pointers_ && sizes == validated_sizes_) return;
        validate();
        validated_pointers_ = pointers;
        validated_sizes_ = sizes;
    }

    static const float* OptionalBias(Ort::KernelContext& context, size_t index, int64_t expected, const char* what) {
        if (context.GetInputCount() <= index) return nullptr;
        auto bias = context.GetInput(index);
        if (!bias) return nullptr;
        if (static_cast<int64_t>(bias.GetTensorTypeAndShapeInfo().GetElementCount()) != expected)
            throw std::invalid_argument(std::string("bias must have ") + what + " = " + std::to_string(expected) + " entries");
        return bias.GetTensorData<float>();
    }

    const OrtApi& api_;
    const char* name_;
    int threads_ = 0;

private:
    std::mutex mutex_;
    std::array<const void*, 3> validated_pointers_{};
    std::array<int64_t, 4> validated_sizes_{-1, -1, -1, -1};
};

int64_t Elements(const Ort::ConstValue& value) { return static_cast<int64_t>(value.GetTensorTypeAndShapeInfo().GetElementCount()); }

// A matrix op's X[..., K] read as M rows of depth K.
std::pair<int64_t, int64_t> RowsAndDepth(const std::vector<int64_t>& x_shape) {
    if (x_shape.empty()) throw std::invalid_argument("X must have at least one dimension");
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < x_shape.size(); ++i) rows *= x_shape[i];
    return {rows, x_shape.back()};
}

// SparseMatMul: Y[..., N] = X[..., K] * W[K, N] (+ bias), W as the CSR form of its transpose.
struct SparseMatMulKernel : KernelBase {
    SparseMatMulKernel(const OrtApi& api, const OrtKernelInfo* info) : KernelBase(api, info, "SparseMatMul") {}

    OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) { return Guard([&] { Compute(raw_context); }); }

private:
    void Compute(OrtKernelContext* raw_context) {
        Ort::KernelContext context(raw_context);
        auto x = context.GetInput(0);
        auto row_starts = context.GetInput(1);
        auto columns = context.GetInput(2);
        auto values = context.GetInput(3);

        auto x_shape = x.GetTensorTypeAndShapeInfo().GetShape();
        const auto [m, k] = RowsAndDepth(x_shape);
        const int64_t starts = Elements(row_starts);
        if (starts < 1) throw std::invalid_argument("row_starts must have N + 1 entries");
        const int64_t nnz = Elements(values);
        if (Elements(columns) != nnz) throw std::invalid_argument("columns and values differ in length");

        CsrView view{starts - 1, k, row_starts.GetTensorData<int64_t>(), columns.GetTensorData<int32_t>(), values.GetTensorData<float>()};
        const float* bias = OptionalBias(context, 4, view.rows, "N");
        EnsureValidated({view.row_starts, view.columns, view.values}, {k, nnz, view.rows, 0}, [&] { view.validate(nnz); });

        auto y_shape = x_shape;
        y_shape.back() = view.rows;
        auto y = context.GetOutput(0, y_shape);
        edgert::sparse::sparse_matmul(x.GetTensorData<float>(), m, k, view, bias, y.GetTensorMutableData<float>(), threads_);
    }
};

// SparseBlockMatMul: Y[..., N] = X[..., K] * W[K, N] (+ bias), W in 1 x 8 blocks along N; attribute n = N.
struct SparseBlockMatMulKernel : KernelBase {
    SparseBlockMatMulKernel(const OrtApi& api, const OrtKernelInfo* info) : KernelBase(api, info, "SparseBlockMatMul") {
        Ort::Status status(api.KernelInfoGetAttribute_int64(info, "n", &n_));
        if (!status.IsOK() || n_ < 0) throw std::invalid_argument("SparseBlockMatMul needs attribute n (the output width, >= 0)");
    }

    OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) { return Guard([&] { Compute(raw_context); }); }

private:
    void Compute(OrtKernelContext* raw_context) {
        Ort::KernelContext context(raw_context);
        auto x = context.GetInput(0);
        auto group_starts = context.GetInput(1);
        auto block_rows = context.GetInput(2);
        auto values = context.GetInput(3);

        auto x_shape = x.GetTensorTypeAndShapeInfo().GetShape();
        const auto [m, k] = RowsAndDepth(x_shape);
        const int64_t starts = Elements(group_starts), blocks = Elements(block_rows), count = Elements(values);
        BlockSparseView view{k, n_, group_starts.GetTensorData<int64_t>(), block_rows.GetTensorData<int32_t>(), values.GetTensorData<float>()};
        if (starts != view.groups() + 1)
            throw std::invalid_argument("group_starts has " + std::to_string(starts) + " entries, expected ceil(n / 8) + 1 = " +
                                        std::to_string(view.groups() + 1));
        const float* bias = OptionalBias(context, 4, n_, "n");
        EnsureValidated({view.group_starts, view.block_rows, view.values}, {k, starts, blocks, count},
                        [&] { view.validate(starts, blocks, count); });

        auto y_shape = x_shape;
        y_shape.back() = n_;
        auto y = context.GetOutput(0, y_shape);
        edgert::sparse::block_sparse_matmul(x.GetTensorData<float>(), m, k, view, bias, y.GetTensorMutableData<float>(), threads_);
    }

    int64_t n_ = 0;
};

// SparseConv1x1: Y[B, M, spatial...] = W[M, C] applied at every position of X[B, C, spatial...] (+ bias[M]),
// W in CSR form; a 1 x 1 convolution with stride 1, no padding, one group.
struct SparseConv1x1Kernel : KernelBase {
    SparseConv1x1Kernel(const OrtApi& api, const OrtKernelInfo* info) : KernelBase(api, info, "SparseConv1x1") {}

    OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) { return Guard([&] { Compute(raw_context); }); }

private:
    void Compute(OrtKernelContext* raw_context) {
        Ort::KernelContext context(raw_context);
        auto x = context.GetInput(0);
        auto row_starts = context.GetInput(1);
        auto columns = context.GetInput(2);
        auto values = context.GetInput(3);

        auto x_shape = x.GetTensorTypeAndShapeInfo().GetShape();
        if (x_shape.size() < 3) throw std::invalid_argument("X must be [batch, channels, spatial...] (rank 3 or more)");
        const int64_t batch = x_shape[0], channels = x_shape[1];
        int64_t pixels = 1;
        for (size_t i = 2; i < x_shape.size(); ++i) pixels *= x_shape[i];
        const int64_t starts = Elements(row_starts);
        if (starts < 1) throw std::invalid_argument("row_starts must have M + 1 entries");
        const int64_t nnz = Elements(values);
        if (Elements(columns) != nnz) throw std::invalid_argument("columns and values differ in length");

        CsrView view{starts - 1, channels, row_starts.GetTensorData<int64_t>(), columns.GetTensorData<int32_t>(),
                     values.GetTensorData<float>()};
        const float* bias = OptionalBias(context, 4, view.rows, "M");
        EnsureValidated({view.row_starts, view.columns, view.values}, {channels, nnz, view.rows, 0}, [&] { view.validate(nnz); });

        auto y_shape = x_shape;
        y_shape[1] = view.rows;
        auto y = context.GetOutput(0, y_shape);
        edgert::sparse::sparse_conv1x1(x.GetTensorData<float>(), batch, channels, pixels, view, bias,
                                       y.GetTensorMutableData<float>(), threads_);
    }
};

// One op description for every kernel: X, three weight arrays (int64 starts, int32 indices, float values), optional bias.
template <typename Kernel>
struct SparseOp : Ort::CustomOpBase<SparseOp<Kernel>, Kernel, true> {
    explicit SparseOp(const char* name) : name_(name) {}
    OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
        try {
            *kernel = new Kernel(api, info);
            return nullptr;
        } catch (const std::exception& e) {
            return api.CreateStatus(ORT_INVALID_ARGUMENT, e.what());
        }
    }
    const char* GetName() const { return name_; }
    size_t GetInputTypeCount() const { return 5; }
    ONNXTensorElementDataType GetInputType(size_t index) const {
        switch (index) {
            case 1: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
            case 2: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
            default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
        }
    }
    OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
        return index == 4 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
    }
    size_t GetOutputTypeCount() const { return 1; }
    ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }

private:
    const char* name_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                                                          const OrtApiBase* api_base) {
    const OrtApi* api = api_base->GetApi(ORT_API_VERSION);
    if (api == nullptr) return nullptr;  // an older ONNX Runtime: nothing can be reported through its API
    Ort::InitApi(api);
    static SparseOp<SparseMatMulKernel> matmul("SparseMatMul");
    static SparseOp<SparseBlockMatMulKernel> block_matmul("SparseBlockMatMul");
    static SparseOp<SparseConv1x1Kernel> conv1x1("SparseConv1x1");
    // Domains must outlive every session using them; one per registration, kept for the process lifetime.
    static std::mutex mutex;
    static std::vector<std::unique_ptr<Ort::CustomOpDomain>> domains;
    try {
        std::lock_guard<std::mutex> lock(mutex);
        auto domain = std::make_unique<Ort::CustomOpDomain>(kDomain);
        domain->Add(&matmul);
        domain->Add(&block_matmul);
        domain->Add(&conv1x1);
        Ort::UnownedSessionOptions(options).Add(*domain);
        domains.push_back(std::move(domain));
        return nullptr;
    } catch (const Ort::Exception& e) {
        return api->CreateStatus(e.GetOrtErrorCode(), e.what());
    } catch (const std::exception& e) {
        return api->CreateStatus(ORT_FAIL, e.what());
    }
}
