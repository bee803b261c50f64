// uhdlens-bench preprocess: preprocessing (plan + resize + crop + normalise) timed against PNG decoding.
#pragma once

#include <QStringList>

namespace bench {

int runPreprocessBench(const QStringList &args); // bench_preprocess.cpp

} // namespace bench
