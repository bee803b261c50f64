// uhdlens-bench quant: quantized-weight kernels (decode GEMV, prefill GEMM) against f32 libtorch on one
// shape.
#pragma once

#include <QStringList>

namespace bench {

int runQuantBench(const QStringList &args); // bench_quant.cpp

} // namespace bench
