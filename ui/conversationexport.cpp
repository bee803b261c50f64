#include "conversationexport.h"

#include "uhdlens/plan_json.h"

#include <QCoreApplication>

namespace uhdlens::ui {

namespace {

std::string str(const QString &s)
{
    return s.toStdString();
}

nlohmann::json answerJson(const AnswerRecord &a)
{
    nlohmann::json j = {
        {"policy", str(a.policyName)},
        {"text", str(a.text)},
        {"finished", a.finished()},
        {"cancelled", a.cancelled()},
        {"image_from_cache", a.fromCache},
        {"stop_reason", str(a.stopReason)},
        {"image_tokens", a.imageTokens},
        {"prompt_tokens", a.promptTokens},
        {"generated_tokens", a.generatedTokens},
        {"encode_ms", a.encodeMs},
        {"total_ms", a.totalMs},
        {"decode_tokens_per_second", a.decodeTokensPerSecond},
    };
    if (!a.error.isEmpty())
        j["error"] = str(a.error);
    if (a.hasPlan)
        j["plan"] = planToJson(a.plan);
    return j;
}

// Gives the export's sentences their own translation context.
class ConversationExport
{
    Q_DECLARE_TR_FUNCTIONS(ConversationExport)
};

} // namespace

nlohmann::json conversationJson(const ImageDocument &document, const ExportContext &context)
{
    nlohmann::json j;
    j["format"] = "uhdlens-conversation";
    j["version"] = 1;
    j["app_version"] = str(context.appVersion);
    j["image"] = {{"name", str(document.title)},
                  {"path", str(document.path)},
                  {"width", document.image.width()},
                  {"height", document.image.height()}};
    if (document.region)
        j["image"]["region"] = {{"x", document.region->x()},
                                {"y", document.region->y()},
                                {"width", document.region->width()},
                                {"height", document.region->height()}};
    else
        j["image"]["region"] = nullptr;
    j["policy"] = str(context.policyName);
    j["plan"] = planToJson(context.plan);
    if (context.model) {
        const ModelInfo &m = *context.model;
        j["model"] = {{"name", m.name},           {"family", nameOf(m.family)}, {"dir", m.modelDir},
                      {"parameters", m.parameters}, {"dtype", nameOf(m.dtype)},   {"device", m.device},
                      {"weights_sha256", m.weightsHash}, {"context_length", m.contextLength}};
    } else {
        j["model"] = nullptr;
    }
    const GenerationSettings &s = context.settings;
    j["settings"] = {{"max_new_tokens", s.maxNewTokens}, {"temperature", s.temperature}, {"top_k", s.topK},
                     {"top_p", s.topP}, {"repetition_penalty", s.repetitionPenalty}, {"seed", s.seed},
                     {"stop_strings", s.stopStrings}};
    nlohmann::json turns = nlohmann::json::array();
    for (const ChatTurn &t : document.turns) {
        nlohmann::json turn = {{"question", str(t.question)},
                               {"asked_at", str(t.askedAt.toUTC().toString(Qt::ISODate))},
                               {"answer", answerJson(t.answer)}};
        if (t.baseline)
            turn["baseline"] = answerJson(*t.baseline);
        turns.push_back(std::move(turn));
    }
    j["turns"] = std::move(turns);
    return j;
}

QString conversationMarkdown(const ImageDocument &document, const ExportContext &context)
{
    QString md;
    md += QStringLiteral("# %1\n\n").arg(ConversationExport::tr("UHD Lens conversation about %1").arg(document.title));
    md += QStringLiteral("- %1: %2×%3\n").arg(ConversationExport::tr("Image")).arg(document.image.width()).arg(document.image.height());
    if (document.region)
        md += QStringLiteral("- %1: %2×%3 at (%4, %5)\n")
                  .arg(ConversationExport::tr("Region"))
                  .arg(document.region->width())
                  .arg(document.region->height())
                  .arg(document.region->x())
                  .arg(document.region->y());
    const SlicePlan &p = context.plan;
    if (p.grid)
        md += QStringLiteral("- %1: %2, %3×%4 %5\n")
                  .arg(ConversationExport::tr("Plan"), context.policyName)
                  .arg(p.grid->cols)
                  .arg(p.grid->rows)
                  .arg(ConversationExport::tr("slices"));
    else
        md += QStringLiteral("- %1: %2, %3\n").arg(ConversationExport::tr("Plan"), context.policyName, ConversationExport::tr("not sliced"));
    if (context.model)
        md += QStringLiteral("- %1: %2 (%3, %4, %5), %6 `%7`\n")
                  .arg(ConversationExport::tr("Model"), QString::fromStdString(context.model->name),
                       QString::fromStdString(nameOf(context.model->family)),
                       QString::fromStdString(nameOf(context.model->dtype)),
                       QString::fromStdString(context.model->device), ConversationExport::tr("weights SHA-256"),
                       QString::fromStdString(context.model->weightsHash));
    md += QStringLiteral("- %1: max %2 tokens, temperature %3, seed %4\n\n")
              .arg(ConversationExport::tr("Settings"))
              .arg(context.settings.maxNewTokens)
              .arg(context.settings.temperature)
              .arg(context.settings.seed);
    auto quoteAnswer = [](const AnswerRecord &a) {
        QString body = a.text;
        if (!a.error.isEmpty())
            body += (body.isEmpty() ? QString() : QStringLiteral("\n\n")) + QStringLiteral("**%1** %2").arg(ConversationExport::tr("Error:"), a.error);
        QString facts = QStringLiteral("*%1 · %2 %3 · %4 %5 · %6 s%7*")
                            .arg(a.policyName)
                            .arg(a.imageTokens)
                            .arg(ConversationExport::tr("image tokens"))
                            .arg(a.generatedTokens)
                            .arg(ConversationExport::tr("tokens generated"))
                            .arg(a.totalMs / 1000.0, 0, 'f', 2)
                            .arg(a.fromCache ? QStringLiteral(" · ") + ConversationExport::tr("image from cache") : QString());
        return body + QStringLiteral("\n\n") + facts + QStringLiteral("\n");
    };
    int n = 0;
    for (const ChatTurn &t : document.turns) {
        md += QStringLiteral("## %1 %2\n\n").arg(ConversationExport::tr("Question")).arg(++n);
        md += QStringLiteral("> %1\n\n").arg(QString(t.question).replace(QLatin1Char('\n'), QStringLiteral("\n> ")));
        if (t.baseline) {
            md += QStringLiteral("### %1\n\n").arg(ConversationExport::tr("UHD plan")) + quoteAnswer(t.answer) + QLatin1Char('\n');
            md += QStringLiteral("### %1\n\n").arg(ConversationExport::tr("LLaVA-1.5 baseline")) + quoteAnswer(*t.baseline) + QLatin1Char('\n');
        } else {
            md += quoteAnswer(t.answer) + QLatin1Char('\n');
        }
    }
    return md;
}

} // namespace uhdlens::ui
