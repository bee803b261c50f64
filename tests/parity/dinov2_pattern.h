// The input both DINOv2 ONNX fixtures were computed on (tests/tools/reference/dinov2_onnx_fixture.py,
// pattern()): [1, 3, H, W] float32, a smooth channel-dependent signal, evaluated in double and rounded once.
#pragma once

#include <torch/torch.h>

#include <cmath>

namespace uhdlens::test {

inline torch::Tensor dinov2Pattern(int64_t h, int64_t w)
{
    auto out = torch::empty({1, 3, h, w}, torch::kFloat32);
    float *p = out.data_ptr<float>();
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                const double cd = static_cast<double>(c), yd = static_cast<double>(y),
                             xd = static_cast<double>(x);
                *p++ =
                    static_cast<float>(1.5 * std::sin(0.11 * xd + 0.7 * cd) * std::cos(0.05 * yd - 0.3 * cd) +
                                       0.25 * std::sin(0.013 * xd * yd));
            }
    return out;
}

} // namespace uhdlens::test
