// uhdlens-bench vision: time per slice of a pretrained vision encoder read from an ONNX file (the DINOv2
// ViT-S/14 of the base weights by default) at the slice sides a LLaVA-UHD model could use, beside an f32 GEMM
// of the encoder's own MLP shape timed in the same run.
#pragma once

#include <QStringList>

namespace bench {

int runVisionBench(const QStringList &args); // bench_vision.cpp

} // namespace bench
