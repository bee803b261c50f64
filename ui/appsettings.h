// UHD Lens UI — every settings key in one place (as GPT4All's MySettings): the preferences, the slicing and
// the model it was chosen with, the model folder, recent files, the A/B switch and the window layout.
//
// Key names and stored values are those of every earlier version, so a user's settings survive updates:
//   generation/{maxNewTokens,temperature,topK,topP,repetitionPenalty,seed,stopStrings},
//   model/{device,dtype,folder}, ui/language, plan/{policy,maxSlices,forModel},
//   chat/{abMode,plainTextAnswers,imageTextBundled,imageTextOther}, files/{recent,lastDir},
//   window/{geometry,state}.
// Not a singleton: the window makes one and hands it to what needs it (tests pass a temporary .ini file).
//
// The GUI thread never writes the file (issue 20: "the GUI thread never waits"). QSettings saves on the
// thread that made it, and its atomic save ends in an fsync, which takes hundreds of ms on a busy disk. So
// the values live in memory here (read once, at construction); each change schedules a save of the whole set
// on a writer thread, which coalesces: at most one save runs, and it writes the latest values. sync() and the
// destructor save at once on the calling thread (at exit, nothing is lost).
#pragma once

#include "uhdlens/engine.h" // GenerationSettings

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace uhdlens::ui {

// What the preferences dialog edits (SettingsDialog): generation, compute device and precision, language. The
// device and dtype are the name tables' spellings (uhdlens/model_facts.h), parsed where a model is loaded.
struct Preferences
{
    GenerationSettings generation;
    QString device = QStringLiteral("auto");
    QString dtype = QStringLiteral("auto");
    QString language = QStringLiteral("en");
    bool plainTextAnswers = false; // show answers as typed, not rendered as Markdown
};

// The slicing the user chose in the plan panel, and the model (its folder) it was chosen with.
struct SavedSlicing
{
    QString policy;    // "minicpmv" | "llava-uhd" | "llava15"
    int maxSlices = 0; // 0: none saved
    QString forModel;  // empty: chosen without a model
};

class SettingsStore;

class AppSettings : public QObject
{
    Q_OBJECT
public:
    // `file` empty: the user's settings (QSettings with the application's names); else that .ini file.
    explicit AppSettings(const QString &file = {}, QObject *parent = nullptr);
    ~AppSettings();
    AppSettings(const AppSettings &) = delete;
    AppSettings &operator=(const AppSettings &) = delete;

    // Generation settings (a hand-edited file with values out of range gives the defaults), device, dtype and
    // the language to start in (initialLanguage() of the saved one).
    Preferences preferences() const;
    void setPreferences(const Preferences &prefs);
    void setLanguage(const QString &code);

    // The slicing shown at start-up (before any model): the saved policy, else MiniCPM-V; `defaultMaxSlices`
    // when none was saved.
    QString startupPolicy() const;
    int startupMaxSlices(int defaultMaxSlices) const;
    // The remembered slicing, only when it was chosen with the model in `modelDir` (plan/forModel): a
    // settings file from before that key, or one saved with another model or none, gives nullopt, so a model
    // is never asked with slicing it was not trained for (issue 22).
    std::optional<SavedSlicing> slicingFor(const QString &modelDir) const;
    void setSlicing(const SavedSlicing &slicing);

    QString modelFolder() const; // the folder loaded last time, empty if none
    // A GGUF model is a folder, one .gguf file, or an explicit pair: `mmproj` names the pair's second file
    // (model/mmproj), empty otherwise, so the next start opens the same pair.
    void setModelFolder(const QString &folder, const QString &mmproj = {});
    QString modelMmproj() const;
    void forgetModelFolder(); // unloaded: start without a model next time too

    QStringList recentFiles() const;
    void addRecentFile(const QString &path); // absolute path, most recent first, at most kMaxRecentFiles
    void clearRecentFiles();
    QString lastImageFolder() const; // where the open dialog starts (home when unset)
    void setLastImageFolder(const QString &folder);

    bool abMode() const;
    void setAbMode(bool on);

    // "Give the model the image's text" (the text layer's lines before each question), remembered apart for
    // the bundled model (default on: it is built to use it) and for every other model (default off: a real
    // checkpoint reads the image itself, and parity with its reference needs the plain prompt).
    bool imageText(bool bundledModel) const;
    void setImageText(bool bundledModel, bool on);

    QByteArray windowGeometry() const;
    QByteArray windowState() const;
    void setWindowLayout(const QByteArray &geometry, const QByteArray &state);

    // Writes the settings file now, on the calling thread, after any save running in the background.
    // QSettings saves atomically (a temporary file renamed over the old one), so a failure leaves the
    // previous file whole; the values stay in memory and the next save tries again. Returns an empty string,
    // or the translated reason (fileWriteErrorText: full disk, unwritable folder, ...).
    QString sync();
    // For tests: waits for the background save (if one runs or is scheduled) and returns its result, as
    // sync() does; and how many saves the writer thread made so far.
    QString waitForSaved();
    int backgroundSaves() const;
    QString fileName() const; // the settings file
    static constexpr int kMaxRecentFiles = 10;

Q_SIGNALS:
    // A background save failed (the values stay in memory; the next change or sync() tries again): the
    // translated reason, as sync() returns it. Emitted on the GUI thread, once per failed save.
    void saveFailed(const QString &message);

private:
    std::unique_ptr<SettingsStore> m_settings;
};

} // namespace uhdlens::ui
