// uhdlens-cli subcommands. Each takes the arguments after the subcommand name and returns the exit code:
// 0 success, 1 failure on some input (reported on stderr), 2 bad usage.
#pragma once

#include <QStringList>

namespace cli {

int runPlan(const QStringList &args);
int runAsk(const QStringList &args);
int runEncode(const QStringList &args);
int runMakeTiny(const QStringList &args);
int runPreprocess(const QStringList &args); // cmd_preprocess.cpp
int runTokenize(const QStringList &args);
int runSynth(const QStringList &args); // cmd_synth.cpp
int runEval(const QStringList &args);  // cmd_eval.cpp
int runConvert(const QStringList &args); // cmd_convert.cpp (exit 2 also for a refused weight file)

// Shared helpers.
int usageError(const QString &command, const QString &message);

} // namespace cli
