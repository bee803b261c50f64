// Internal: a DINOv2 vision transformer built from the backbone inside an ONNX file (onnx_dinov2.h names its
// weights), as nn::VisionTransformer with VitNaming::HfDinov2: patch features [B, h*w, C] after the final
// LayerNorm, the position table bicubic-fitted to each grid without antialiasing (as the export's Resize).
#pragma once

#include "nn/layers.h"
#include "onnx/onnx_dinov2.h"

#include <string>
#include <utility>
#include <vector>

namespace uhdlens::onnx {

class OnnxFile;

struct OnnxVit
{
    nn::VisionTransformer vit{nullptr};
    nn::VitOptions options;
    Dinov2Layout layout;
};

// The backbone's weights under Dinov2Model's names, as new f32 CPU tensors in the module's layout ([out, in]
// matrices, one position table); `file` holds the graph `layout` was found in.
std::vector<std::pair<std::string, torch::Tensor>> dinov2Tensors(const OnnxFile &file, const Dinov2Layout &layout);

// Reads `path` (OnnxFile::open's errors, findDinov2's errors) and copies the weights into a new module of
// `tensorOptions` (dtype and device; f32 in the file). The module does not keep the mapping.
OnnxVit loadDinov2Onnx(const std::string &path, const torch::TensorOptions &tensorOptions);

} // namespace uhdlens::onnx
