#include "gguf/gguf_torch.h"

#include "file_map.h"
#include "gguf/gguf_model.h"
#include "uhdlens/errors.h"

#include <cstring>

namespace uhdlens::gguf {

torch::Tensor floatTensor(const GgufFile &file, const std::string &name)
{
    const GgufTensorView v = file.tensor(name);
    torch::Dtype dtype;
    int64_t size = 0;
    switch (v.info->type) {
    case quant::GgmlType::F32:
        dtype = torch::kFloat32, size = 4;
        break;
    case quant::GgmlType::F16:
        dtype = torch::kFloat16, size = 2;
        break;
    case quant::GgmlType::BF16:
        dtype = torch::kBFloat16, size = 2;
        break;
    default:
        throw Error(ErrorCode::CheckpointInvalid,
                    "GGUF file '" + file.path() + "': tensor '" + name + "' is " +
                        std::string(quant::ggmlTypeInfo(v.info->type).name) + ", not F32 / F16 / BF16",
                    name);
    }
    std::shared_ptr<FileMap> keep = file.mapping();
    // The mapping is read-only: the const_cast only satisfies from_blob's signature.
    torch::Tensor view = torch::from_blob(
        const_cast<uint8_t *>(v.data), v.info->shape(), [keep](void *) mutable { keep.reset(); },
        torch::TensorOptions().dtype(dtype));
    if (reinterpret_cast<uintptr_t>(v.data) % size != 0)
        return view.clone();
    return view;
}

torch::Tensor unpermutedFloatTensor(const GgufFile &file, const std::string &name, const std::string &arch)
{
    torch::Tensor t = floatTensor(file, name);
    const auto mapped = mapTensorName(FileKind::Llm, name, arch);
    if (!mapped ||
        (mapped->transform != Transform::LlamaPermuteQ && mapped->transform != Transform::LlamaPermuteK))
        return t;
    const Metadata &m = file.meta();
    const uint32_t heads = m.getU32(arch + ".attention.head_count");
    const uint32_t kvHeads = m.optU32(arch + ".attention.head_count_kv").value_or(heads);
    const int64_t groups = mapped->transform == Transform::LlamaPermuteQ ? heads : kvHeads;
    const int64_t rows = t.size(0);
    const uint64_t rowBytes = static_cast<uint64_t>(t.numel() / rows * t.element_size());
    torch::Tensor c = t.contiguous();
    std::vector<uint8_t> bytes =
        unpermuteLlamaRows(static_cast<const uint8_t *>(c.data_ptr()), rows, rowBytes, groups, name);
    torch::Tensor out = torch::empty_like(c);
    std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
    return out;
}

} // namespace uhdlens::gguf
