// Shared helpers of the uhdlens-bench subcommands: timing (median of repeats) and memory readouts.
// The machines are shared and noisy, so every speed claim is a ratio of two medians measured in the same run.
#pragma once

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <c10/core/ScalarType.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

// The --dtype value of the benches that time vision towers: "f32", "bf16" or "both"; empty for anything else.
inline std::vector<c10::ScalarType> f32Bf16Dtypes(const QString &arg)
{
    std::vector<c10::ScalarType> out;
    if (arg == QLatin1String("f32") || arg == QLatin1String("both"))
        out.push_back(c10::ScalarType::Float);
    if (arg == QLatin1String("bf16") || arg == QLatin1String("both"))
        out.push_back(c10::ScalarType::BFloat16);
    return out;
}

inline double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs `f` once untimed (warm-up: caches, lazy allocations, thread-pool start), then `repeats` times; returns
// the median wall time in milliseconds.
inline double medianMs(int repeats, const std::function<void()> &f, bool warmUp = true)
{
    if (warmUp)
        f();
    std::vector<double> times;
    for (int i = 0; i < std::max(1, repeats); ++i) {
        const auto t0 = Clock::now();
        f();
        times.push_back(msSince(t0));
    }
    return median(times);
}

// A /proc/self/status value in kB ("VmRSS" = resident now, "VmHWM" = peak resident); 0 if unavailable.
inline int64_t procStatusKb(const char *key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(key) + ":";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::stoll(line.substr(prefix.size()));
    return 0;
}

inline double rssMiB() { return procStatusKb("VmRSS") / 1024.0; }
inline double peakRssMiB() { return procStatusKb("VmHWM") / 1024.0; }

// Subcommand usage errors: message on stderr, exit code 2.
int usageError(const QString &command, const QString &message); // main.cpp

// Parses a subcommand's arguments: an exit code when the command is done (2 after a usage error, 0 after --help),
// nullopt when it should run. Stray positional arguments are a usage error. (main.cpp; uhdlens-cli has its own.)
std::optional<int> parseArguments(QCommandLineParser &parser, const QStringList &args, const QString &command);

} // namespace bench
