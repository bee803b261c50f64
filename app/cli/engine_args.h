// Option handling shared by the engine subcommands of uhdlens-cli (ask, encode): model folder, device, dtype,
// slicing overrides. Header-only; each returns an error text for a usage error (exit 2), empty when fine.
#pragma once

#include "commands.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/model_facts.h"
#include "uhdlens/resources.h"
#include "uhdlens/slice_planner.h"

#include <QCommandLineOption>
#include <QCommandLineParser>

#include <cstdio>
#include <optional>

namespace cli {

struct EngineOptions
{
    QCommandLineOption model{QStringLiteral("model"), QStringLiteral("Model folder (config.json, *.safetensors, tokenizer.model), or GGUF: a folder of GGUF files, an LLM .gguf (its mmproj is found beside it) or, with --mmproj, the LLM file."), QStringLiteral("DIR|FILE")};
    QCommandLineOption mmproj{QStringLiteral("mmproj"), QStringLiteral("The mmproj GGUF file paired with --model's LLM file (any names, e.g. Ollama blobs)."), QStringLiteral("FILE")};
    QCommandLineOption vision{QStringLiteral("vision"), QStringLiteral("Separate vision-tower folder (LLaVA-UHD release)."), QStringLiteral("DIR")};
    QCommandLineOption image{QStringLiteral("image"), QStringLiteral("Image file."), QStringLiteral("IMG")};
    QCommandLineOption policy{QStringLiteral("policy"), QStringLiteral("Slicing policy: minicpmv, llava-uhd or llava15 (default: the model's)."), QStringLiteral("P")};
    QCommandLineOption maxSlices{QStringLiteral("max-slices"), QStringLiteral("Upper bound on the slice count (0: overview only)."), QStringLiteral("N")};
    QCommandLineOption device{QStringLiteral("device"), QStringLiteral("auto (default), cpu or cuda."), QStringLiteral("D"), QStringLiteral("auto")};
    QCommandLineOption dtype{QStringLiteral("dtype"), QStringLiteral("auto (default), f32, mixed (bf16 weights, f32 arithmetic; CPU), bf16 or f16."), QStringLiteral("T"), QStringLiteral("auto")};

    void addTo(QCommandLineParser &parser) const { parser.addOptions({model, mmproj, vision, image, policy, maxSlices, device, dtype}); }

    // Fills LoadOptions; the bundled default model when --model is absent (error text if it is not installed).
    QString loadOptions(const QCommandLineParser &parser, uhdlens::LoadOptions &out, bool &missingDefault) const
    {
        missingDefault = false;
        if (parser.isSet(model)) {
            out.modelDir = parser.value(model).toStdString();
        } else {
            out.modelDir = uhdlens::bundledModelFolder();
            if (out.modelDir.empty()) {
                missingDefault = true;
                return QStringLiteral(
                    "no --model given and no bundled default model (resources/models/uhd-lens-smol or "
                    "uhd-lens-tiny) is installed; pass --model DIR");
            }
            // The default on pretrained parts is installed but its base weights are not: say which model
            // answers.
            if (const std::string note = uhdlens::bundledModelNote(); !note.empty())
                std::fprintf(stderr, "note: %s; using %s\n", note.c_str(), uhdlens::kFromScratchModelName);
        }
        if (parser.isSet(mmproj))
            out.mmproj = parser.value(mmproj).toStdString();
        if (parser.isSet(vision))
            out.visionDir = parser.value(vision).toStdString();
        // Parsed here, once, by the name tables (uhdlens/model_facts.h); their error names the value and the choices.
        try {
            out.device = uhdlens::parseDevice(parser.value(device).toStdString());
            out.dtype = uhdlens::parseName<uhdlens::Dtype>(parser.value(dtype).toStdString());
        } catch (const uhdlens::Error &e) {
            return QString::fromStdString(e.what());
        }
        return {};
    }

    // The slicing override, if --policy or --max-slices was given. `base` is the model's own policy.
    QString slicePolicy(const QCommandLineParser &parser, const uhdlens::SlicePolicy &base,
                        std::optional<uhdlens::SlicePolicy> &out) const
    {
        out.reset();
        if (!parser.isSet(policy) && !parser.isSet(maxSlices))
            return {};
        uhdlens::SlicePolicy p = base;
        if (parser.isSet(policy)) {
            auto named = uhdlens::SlicePolicy::fromName(parser.value(policy).toStdString());
            if (!named)
                return QStringLiteral("unknown policy '%1' (choose minicpmv, llava-uhd or llava15)").arg(parser.value(policy));
            p = *named;
        }
        if (parser.isSet(maxSlices)) {
            bool ok = false;
            const int n = parser.value(maxSlices).toInt(&ok);
            if (!ok || n < 0)
                return QStringLiteral("--max-slices needs a non-negative integer");
            if (n == 0)
                p.neverSplit = true;
            else
                p.maxSlices = n;
        }
        if (const std::string why = p.validate(); !why.empty())
            return QString::fromStdString(why);
        out = p;
        return {};
    }

    // checkSliceArgs() then loadOptions(), reported for `command`: nullopt when fine, else the exit code after the
    // message — 2 for a usage error, 1 when the bundled default model is not installed (not a typo).
    std::optional<int> prepareLoad(const QCommandLineParser &parser, const QString &command,
                                   uhdlens::LoadOptions &out) const
    {
        if (const QString why = checkSliceArgs(parser); !why.isEmpty())
            return usageError(command, why);
        bool missingDefault = false;
        if (const QString why = loadOptions(parser, out, missingDefault); !why.isEmpty()) {
            if (!missingDefault)
                return usageError(command, why);
            std::fprintf(stderr, "uhdlens-cli %s: %s\n", qPrintable(command), qPrintable(why));
            return 1;
        }
        return std::nullopt;
    }

    // Usage errors that need no model: a known policy name and a well-formed --max-slices.
    QString checkSliceArgs(const QCommandLineParser &parser) const
    {
        std::optional<uhdlens::SlicePolicy> unused;
        return slicePolicy(parser, uhdlens::SlicePolicy::minicpmv(), unused);
    }
};

} // namespace cli
