// uhdlens-bench subcommands of the engine: `engine` (speed with random weights of real/tiny shapes) and `flops`
// (analytic compute of LLaVA-UHD vs LLaVA-1.5). Each returns the exit code: 0, 1 failure, 2 bad usage.
#pragma once

#include <QStringList>

namespace bench {

int runEngineBench(const QStringList &args);
int runFlopsBench(const QStringList &args);

} // namespace bench
