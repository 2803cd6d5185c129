// ONNX Runtime custom-op library: SparseMatMul in domain com.edgeruntime.sparse.
//   Y[..., N] = X[..., K] * W[K, N] (+ bias[N]), W given as the CSR form of its transpose:
//   inputs X (float), row_starts (int64, N + 1), columns (int32, nnz), values (float, nnz), bias (float, N, optional);
//   attribute threads (int, optional, 0 = one per hardware thread).
// Loaded with SessionOptions.RegisterCustomOpLibrary; the entry point is RegisterCustomOps.
#define ORT_API_MANUAL_INIT
#include "onnxruntime_cxx_api.h"
#undef ORT_API_MANUAL_INIT

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparse_matmul.h"

namespace {

using edgert::sparse::CsrView;

constexpr const char* kDomain = "com.edgeruntime.sparse";

struct SparseMatMulKernel {
    SparseMatMulKernel(const OrtApi& api, const OrtKernelInfo* info) : api_(api) {
        Ort::ConstKernelInfo kernel_info(info);
        int64_t threads = 0;
        // An absent attribute leaves the default; GetAttribute would throw.
        Ort::Status status(api.KernelInfoGetAttribute_int64(info, "threads", &threads));
        threads_ = status.IsOK() && threads > 0 ? static_cast<int>(threads) : 0;
        (void)kernel_info;
    }

    OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
        try {
            Compute(raw_context);
            return nullptr;
        } catch (const Ort::Exception& e) {
            return api_.CreateStatus(e.GetOrtErrorCode(), e.what());
        } catch (const std::exception& e) {
            return api_.CreateStatus(ORT_INVALID_ARGUMENT, (std::string("SparseMatMul: ") + e.what()).c_str());
        }
    }

private:
    void Compute(OrtKernelContext* raw_context) {
        Ort::KernelContext context(raw_context);
        auto x = context.GetInput(0);
        auto row_starts = context.GetInput(1);
        auto columns = context.GetInput(2);
        auto values = context.GetInput(3);
        auto bias = context.GetInputCount() > 4 ? context.GetInput(4) : Ort::ConstValue{nullptr};

        auto x_shape = x.GetTensorTypeAndShapeInfo().GetShape();
        if (x_shape.empty()) throw std::invalid_argument("X must have at least one dimension");
        const int64_t k = x_shape.back();
        int64_t m = 1;
        for (size_t i = 0; i + 1 < x_shape.size(); ++i) m *= x_shape[i];
        const int64_t starts = row_starts.GetTensorTypeAndShapeInfo().GetElementCount();
        if (starts < 1) throw std::invalid_argument("row_starts must have N + 1 entries");
        const int64_t nnz = values.GetTensorTypeAndShapeInfo().GetElementCount();
        if (static_cast<int64_t>(columns.GetTensorTypeAndShapeInfo().GetElementCount()) != nnz)
            throw std::invalid_argument("columns and values differ in length");

        CsrView view{starts - 1, k, row_starts.GetTensorData<int64_t>(), columns.GetTensorData<int32_t>(), values.GetTensorData<float>()};
        const float* bias_data = nullptr;
        if (bias) {
            if (static_cast<int64_t>(bias.GetTensorTypeAndShapeInfo().GetElementCount()) != view.rows)
                throw std::invalid_argument("bias must have N = " + std::to_string(view.rows) + " entries");
            bias_data = bias.GetTensorData<float>();
        }
        EnsureValidated(view, nnz);

        auto y_shape = x_shape;
        y_shape.back() = view.rows;
        auto y = context.GetOutput(0, y_shape);
        edgert::sparse::sparse_matmul(x.GetTensorData<float>(), m, k, view, bias_data, y.GetTensorMutableData<float>(), threads_);
    }

    // The weights are initializers that stay put, so their check (as costly as one batch-1 product) runs once.
    void EnsureValidated(const CsrView& view, int64_t nnz) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (validated_starts_ == view.row_starts && validated_columns_ == view.columns && validated_k_ == view.cols &&
            validated_nnz_ == nnz && validated_rows_ == view.rows)
            return;
        view.validate(nnz);
        validated_starts_ = view.row_starts;
        validated_columns_ = view.columns;
        validated_k_ = view.cols;
        validated_nnz_ = nnz;
        validated_rows_ = view.rows;
    }

    const OrtApi& api_;
    int threads_ = 0;
    std::mutex mutex_;
    const int64_t* validated_starts_ = nullptr;
    const int32_t* validated_columns_ = nullptr;
    int64_t validated_k_ = -1, validated_nnz_ = -1, validated_rows_ = -1;
};

struct SparseMatMulOp : Ort::CustomOpBase<SparseMatMulOp, SparseMatMulKernel, true> {
    OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
        try {
            *kernel = new SparseMatMulKernel(api, info);
            return nullptr;
        } catch (const std::exception& e) {
            return api.CreateStatus(ORT_FAIL, e.what());
        }
    }
    const char* GetName() const { return "SparseMatMul"; }
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
};

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                                                          const OrtApiBase* api_base) {
    const OrtApi* api = api_base->GetApi(ORT_API_VERSION);
    if (api == nullptr) return nullptr;  // an older ONNX Runtime: nothing can be reported through its API
    Ort::InitApi(api);
    static SparseMatMulOp op;
    // Domains must outlive every session using them; one per registration, kept for the process lifetime.
    static std::mutex mutex;
    static std::vector<std::unique_ptr<Ort::CustomOpDomain>> domains;
    try {
        std::lock_guard<std::mutex> lock(mutex);
        auto domain = std::make_unique<Ort::CustomOpDomain>(kDomain);
        domain->Add(&op);
        Ort::UnownedSessionOptions(options).Add(*domain);
        domains.push_back(std::move(domain));
        return nullptr;
    } catch (const Ort::Exception& e) {
        return api->CreateStatus(e.GetOrtErrorCode(), e.what());
    } catch (const std::exception& e) {
        return api->CreateStatus(ORT_FAIL, e.what());
    }
}
