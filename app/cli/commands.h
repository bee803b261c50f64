// uhdlens-cli subcommands. Each takes the arguments after the subcommand name and returns the exit code:
// 0 success, 1 failure on some input (reported on stderr), 2 bad usage.
#pragma once

#include <QStringList>

#include <optional>

class QCommandLineParser;

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
int runGgufInfo(const QStringList &args); // cmd_gguf_info.cpp
int runBatch(const QStringList &args);   // cmd_batch.cpp (exit 130: interrupted)

// Shared helpers.
int usageError(const QString &command, const QString &message);
// Parses `args` for `command`. Returns the exit code when the command is already done — 2 after a usage error
// (reported), 0 after printing --help — or nothing to go on. With `positionalAllowed` false, a positional
// argument is a usage error.
std::optional<int> parseArguments(QCommandLineParser &parser, const QStringList &args, const QString &command,
                                  bool positionalAllowed);

} // namespace cli
