// UHD Lens UI — exporting a conversation so a result can be read and reproduced.
//
// Markdown for reading; JSON for reproducing: image size (and region), the plan of every answer (planToJson),
// the model with its weights hash, and the generation settings.
#pragma once

#include "imagedocument.h"

#include "uhdlens/engine.h"

#include <nlohmann/json.hpp>

#include <QString>

#include <optional>

namespace uhdlens::ui {

struct ExportContext
{
    std::optional<ModelInfo> model;
    GenerationSettings settings;
    SlicePlan plan;          // the plan currently shown
    QString policyName;
    QString appVersion;
};

QString conversationMarkdown(const ImageDocument &document, const ExportContext &context);
nlohmann::json conversationJson(const ImageDocument &document, const ExportContext &context);

} // namespace uhdlens::ui
