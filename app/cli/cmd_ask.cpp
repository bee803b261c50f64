// uhdlens-cli ask --model DIR [--vision DIR] --image IMG [--policy P] [--max-slices N] [--max-new-tokens N]
//                 [--temperature T] [--seed S] [--thinking] [--device D] [--dtype T] [--json] "question"
// Streams the answer to stdout; with --json prints one object at the end instead (answer, plan, token counts,
// timings). Exit 0 success, 1 failure (message on stderr), 2 bad usage.
#include "commands.h"
#include "engine_args.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/plan_json.h"

#include <QCommandLineParser>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

namespace cli {

int runAsk(const QStringList &args)
{
    const QString cmd = QStringLiteral("ask");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Answers a question about an image, streaming the answer."));
    parser.addHelpOption();
    EngineOptions eo;
    eo.addTo(parser);
    QCommandLineOption maxNewOpt(QStringLiteral("max-new-tokens"), QStringLiteral("Answer length limit (default 256)."), QStringLiteral("N"));
    QCommandLineOption tempOpt(QStringLiteral("temperature"), QStringLiteral("0 (default): greedy; > 0: sampling."), QStringLiteral("T"));
    QCommandLineOption seedOpt(QStringLiteral("seed"), QStringLiteral("Sampling seed (default 0)."), QStringLiteral("S"));
    QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Print one JSON object at the end instead of streaming."));
    QCommandLineOption thinkingOpt(QStringLiteral("thinking"), QStringLiteral("Thinking mode (MiniCPM-V 4.5): the answer starts with the model's reasoning."));
    parser.addOptions({maxNewOpt, tempOpt, seedOpt, thinkingOpt, jsonOpt});
    parser.addPositionalArgument(QStringLiteral("question"), QStringLiteral("The question about the image."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;
    if (!parser.isSet(eo.image))
        return usageError(cmd, QStringLiteral("--image IMG is required"));
    if (parser.positionalArguments().size() != 1)
        return usageError(cmd, QStringLiteral("give exactly one question (quote it)"));
    const std::string question = parser.positionalArguments().first().toStdString();
    if (question.empty())
        return usageError(cmd, QStringLiteral("the question is empty"));

    uhdlens::GenerationSettings settings;
    bool ok = true;
    if (parser.isSet(maxNewOpt))
        settings.maxNewTokens = parser.value(maxNewOpt).toInt(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--max-new-tokens needs an integer"));
    if (parser.isSet(tempOpt))
        settings.temperature = parser.value(tempOpt).toFloat(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--temperature needs a number"));
    if (parser.isSet(seedOpt))
        settings.seed = parser.value(seedOpt).toULongLong(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--seed needs a non-negative integer"));
    settings.thinking = parser.isSet(thinkingOpt);
    if (const std::string why = settings.validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));
    uhdlens::LoadOptions load;
    if (const auto exitCode = eo.prepareLoad(parser, cmd, load))
        return *exitCode;
    const bool json = parser.isSet(jsonOpt);

    try {
        const QImage image = uhdlens::loadImage(parser.value(eo.image));
        const auto t0 = std::chrono::steady_clock::now();
        auto model = uhdlens::Model::load(load);
        const double loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::optional<uhdlens::SlicePolicy> policy;
        if (const QString why = eo.slicePolicy(parser, model->info().policy, policy); !why.isEmpty())
            return usageError(cmd, why);
        uhdlens::Conversation chat(model);
        chat.setImage(image, policy);
        uhdlens::AskCallbacks cb;
        if (!json)
            cb.token = [](const std::string &text) {
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fflush(stdout);
            };
        const uhdlens::AskResult r = chat.ask(question, settings, cb);
        if (!json) {
            std::printf("\n");
            return 0;
        }
        const auto &info = model->info();
        nlohmann::json sources = nlohmann::json::array();
        for (const auto &s : info.settingSources)
            sources.push_back({{"setting", s.key}, {"value", s.value}, {"source", s.source}});
        nlohmann::json out = {
            {"answer", r.answer},
            {"stop_reason", uhdlens::nameOf(r.stopReason)},
            {"plan", uhdlens::planToJson(r.plan, info.layout)},
            {"model", {{"family", uhdlens::nameOf(info.family)}, {"name", info.name}, {"dtype", uhdlens::nameOf(info.dtype)}, {"device", info.device},
                       {"parameters", info.parameters}, {"weight_bytes", info.weightBytes},
                       {"weights_sha256", info.weightsHash}, {"warnings", info.warnings},
                       {"settings_from", sources}}},
            {"tokens", {{"prompt", r.promptTokens}, {"image", r.imageTokens}, {"generated", r.generatedTokens},
                        {"reused", r.reusedPromptTokens}}},
            {"timings", {{"load_ms", loadMs}, {"slice_encode_ms", r.sliceMs}, {"encode_ms", r.encodeMs},
                         {"prefill_ms", r.prefillMs}, {"prefill_tokens_per_s", r.prefillTokensPerSecond},
                         {"decode_ms", r.decodeMs}, {"decode_tokens_per_s", r.decodeTokensPerSecond}}},
            {"settings", {{"max_new_tokens", settings.maxNewTokens}, {"temperature", settings.temperature},
                          {"seed", settings.seed}, {"thinking", settings.thinking}}},
        };
        std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli ask: %s\n", e.what());
        return 1;
    }
}

} // namespace cli
