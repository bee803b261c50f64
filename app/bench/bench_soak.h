// uhdlens-bench soak: memory of one long-running process that asks many questions about many kinds of images.
#pragma once

#include <QStringList>

namespace bench {

int runSoakBench(const QStringList &args);

} // namespace bench
