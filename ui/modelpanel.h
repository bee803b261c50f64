// UHD Lens UI — the model panel: which model answers (family, size, dtype, device), open another folder.
#pragma once

#include "uhdlens/engine.h"

#include <QWidget>

class QFormLayout;
class QLabel;
class QProgressBar;
class QPushButton;

namespace uhdlens::ui {

class ModelPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ModelPanel(QWidget *parent = nullptr);

    void showLoading(const QString &folder);
    void showProgress(double fraction, const QString &stage);
    void showModel(const ModelInfo &info);
    void showNoModel(const QString &reason = {});
    void showError(const QString &message);
    QString statusText() const;
    // A GGUF model's tensor types ("LLM: Q4_0 ×196, F32 ×…") and the small-text warning, empty otherwise.
    QString quantizationText() const;
    QString quantizationWarning() const;

    // Whether a GGUF tensor type (ggml's name, "Q4_K") is known to cost small-text reading on the language
    // model / on the vision projector (see modelpanel.cpp for the threshold's basis).
    static bool lowPrecisionForLlm(const QString &type);
    static bool lowPrecisionForMmproj(const QString &type);

    static QString formatBytes(qint64 bytes);
    static QString formatParameters(qint64 parameters);

Q_SIGNALS:
    void openFolderRequested();
    void useDefaultRequested();

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();

    QLabel *m_status = nullptr;
    QLabel *m_about = nullptr; // the model's own description of what it can and cannot do
    QLabel *m_sources = nullptr; // which value of slicing, normalisation and stop ids came from which file
    std::vector<SettingSource> m_settingSources;
    QString sourcesText() const;
    QProgressBar *m_progress = nullptr;
    QFormLayout *m_form = nullptr;
    QLabel *m_nameLabel = nullptr, *m_name = nullptr;
    QLabel *m_familyLabel = nullptr, *m_family = nullptr;
    QLabel *m_sizeLabel = nullptr, *m_size = nullptr;
    QLabel *m_dtypeLabel = nullptr, *m_dtype = nullptr;
    QLabel *m_deviceLabel = nullptr, *m_device = nullptr;
    QLabel *m_contextLabel = nullptr, *m_context = nullptr;
    QLabel *m_folderLabel = nullptr, *m_folder = nullptr;
    QLabel *m_quantLabel = nullptr, *m_quant = nullptr;
    QLabel *m_quantWarning = nullptr;
    QStringList m_lowLlm, m_lowMmproj; // the low-precision types found, for the (re-translated) warning
    void updateQuantization();
    QPushButton *m_open = nullptr;
    QPushButton *m_default = nullptr;
    // What the status line shows, kept as a state so it can be re-translated.
    enum class State { None, Loading, Loaded, Failed } m_state = State::None;
    QString m_detail;
};

} // namespace uhdlens::ui
