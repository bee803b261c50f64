// uhdlens-cli ask --model DIR [--vision DIR] --image IMG [--policy P] [--max-slices N] [--max-new-tokens N]
//                 [--temperature T] [--seed S] [--thinking] [--device D] [--dtype T] [--json] "question"
// uhdlens-cli ask --model LLM.gguf [--prompt] "question"     (no --image: a text-only language model,
//                                                            uhdlens/text_model.h)
// Streams the answer to stdout; with --json prints one object at the end instead (answer, plan, token counts,
// timings). Exit 0 success, 1 failure (message on stderr), 2 bad usage.
#include "commands.h"
#include "engine_args.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/text_model.h"

#include <QCommandLineParser>
#include <QFileInfo>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

namespace cli {

namespace {

// The model's settings and where each came from, for --json's model block.
nlohmann::json sourcesJson(const std::vector<uhdlens::SettingSource> &sources)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto &s : sources)
        out.push_back({{"setting", s.key}, {"value", s.value}, {"source", s.source}});
    return out;
}

// A text question to a language-model GGUF file: streams the answer (`token` set; returns nothing) or returns
// the --json object. Throws uhdlens::Error.
std::optional<nlohmann::json> askText(const uhdlens::LoadOptions &load, const std::string &question,
                                      const uhdlens::GenerationSettings &settings,
                                      const std::function<void(const std::string &)> &token)
{
    const auto t0 = std::chrono::steady_clock::now();
    const auto model = uhdlens::TextModel::load(load);
    const double loadMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    uhdlens::TextChat chat(model);
    uhdlens::AskCallbacks cb;
    cb.token = token;
    const uhdlens::AskResult r = chat.ask(question, settings, cb);
    if (token)
        return std::nullopt;
    const auto &info = model->info();
    return nlohmann::json{
        {"answer", r.answer},
        {"stop_reason", uhdlens::nameOf(r.stopReason)},
        {"model",
         {{"kind", "text"},
          {"architecture", info.architecture},
          {"name", info.name},
          {"path", info.path},
          {"dtype", uhdlens::nameOf(info.dtype)},
          {"device", info.device},
          {"parameters", info.parameters},
          {"weight_bytes", info.weightBytes},
          {"weights_sha256", info.weightsHash},
          {"settings_from", sourcesJson(info.settingSources)}}},
        {"tokens", {{"prompt", r.promptTokens}, {"generated", r.generatedTokens}}},
        {"timings",
         {{"load_ms", loadMs},
          {"prefill_ms", r.prefillMs},
          {"prefill_tokens_per_s", r.prefillTokensPerSecond},
          {"decode_ms", r.decodeMs},
          {"decode_tokens_per_s", r.decodeTokensPerSecond}}},
        {"settings",
         {{"max_new_tokens", settings.maxNewTokens},
          {"temperature", settings.temperature},
          {"seed", settings.seed}}},
    };
}

} // namespace

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
    QCommandLineOption thinkingOpt(
        QStringLiteral("thinking"),
        QStringLiteral("Thinking mode (MiniCPM-V 4.5): the answer starts with the model's reasoning."));
    QCommandLineOption promptOpt(QStringLiteral("prompt"),
                                 QStringLiteral("The question (instead of the positional argument)."),
                                 QStringLiteral("TEXT"));
    parser.addOptions({maxNewOpt, tempOpt, seedOpt, thinkingOpt, jsonOpt, promptOpt});
    parser.addPositionalArgument(QStringLiteral("question"),
                                 QStringLiteral("The question about the image (without --image: a text "
                                                "question to a language-model GGUF file)."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;
    // Without --image, --model must be one language-model GGUF file, asked as a text-only model.
    const bool textOnly = !parser.isSet(eo.image);
    if (textOnly && !(parser.isSet(eo.model) && QFileInfo(parser.value(eo.model)).isFile()))
        return usageError(cmd, QStringLiteral("--image IMG is required (a text-only question needs --model "
                                              "LLM.gguf, one language-model file)"));
    if (textOnly && (parser.isSet(eo.mmproj) || parser.isSet(eo.vision) || parser.isSet(eo.policy) ||
                     parser.isSet(eo.maxSlices)))
        return usageError(cmd, QStringLiteral("--mmproj, --vision, --policy and --max-slices need --image"));
    if (textOnly && parser.isSet(thinkingOpt))
        return usageError(cmd, QStringLiteral("--thinking is MiniCPM-V 4.5's switch and needs --image"));
    const int questions =
        static_cast<int>(parser.positionalArguments().size()) + (parser.isSet(promptOpt) ? 1 : 0);
    if (questions != 1)
        return usageError(
            cmd, QStringLiteral("give exactly one question (quote it), as the argument or with --prompt"));
    const std::string question =
        (parser.isSet(promptOpt) ? parser.value(promptOpt) : parser.positionalArguments().first())
            .toStdString();
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
    const std::function<void(const std::string &)> stream = [](const std::string &text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    };

    try {
        if (textOnly) {
            const auto out = askText(load, question, settings, json ? decltype(stream)() : stream);
            std::printf("%s\n",
                        out ? out->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str()
                            : "");
            return 0;
        }
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
            cb.token = stream;
        const uhdlens::AskResult r = chat.ask(question, settings, cb);
        if (!json) {
            std::printf("\n");
            return 0;
        }
        const auto &info = model->info();
        nlohmann::json out = {
            {"answer", r.answer},
            {"stop_reason", uhdlens::nameOf(r.stopReason)},
            {"plan", uhdlens::planToJson(r.plan, info.layout)},
            {"model", {{"family", uhdlens::nameOf(info.family)}, {"name", info.name}, {"dtype", uhdlens::nameOf(info.dtype)}, {"device", info.device},
                       {"parameters", info.parameters}, {"weight_bytes", info.weightBytes},
                       {"weights_sha256", info.weightsHash}, {"warnings", info.warnings},
                       {"settings_from", sourcesJson(info.settingSources)}}},
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
