// uhdlens-bench attention: the fused vision attention (core/src/kernels/flash_attention.h) against the plain
// attention of nn::scaledDotAttention on the families' vision shapes.
#pragma once

#include <QStringList>

namespace bench {

int runAttentionBench(const QStringList &args); // bench_attention.cpp

} // namespace bench
