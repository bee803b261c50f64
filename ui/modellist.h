// UHD Lens UI — which model folders the app knows (as GPT4All's ModelList, much smaller): the bundled default
// model, found by core's one resource search (uhdlens/resources.h), and the folder used last time.
#pragma once

#include <QString>

namespace uhdlens::ui {

class AppSettings;

class ModelList
{
public:
    explicit ModelList(AppSettings &settings) : m_settings(settings) {}

    // The bundled model folder (models/uhd-lens-tiny with its config.json), or empty when not installed.
    static QString bundledFolder();
    // The model to load at start-up: the folder loaded last time while it still exists, else the bundled one,
    // else empty (start without a model).
    // (A GGUF model's "folder" may be a .gguf file.)
    QString startupFolder() const;
    // The second file of the GGUF pair loaded last time, when startupFolder() is that model and the file
    // still exists; else empty.
    QString startupMmproj() const;

private:
    AppSettings &m_settings;
};

} // namespace uhdlens::ui
