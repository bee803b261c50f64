#include "modelpanel.h"

#include <algorithm>
#include <iterator>

#include <QEvent>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

namespace uhdlens::ui {

ModelPanel::ModelPanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("modelStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->hide();
    layout->addWidget(m_progress);

    m_form = new QFormLayout;
    for (auto [label, value] : {std::pair{&m_nameLabel, &m_name}, std::pair{&m_familyLabel, &m_family},
                                std::pair{&m_sizeLabel, &m_size}, std::pair{&m_dtypeLabel, &m_dtype},
                                std::pair{&m_deviceLabel, &m_device}, std::pair{&m_contextLabel, &m_context},
                                std::pair{&m_folderLabel, &m_folder}, std::pair{&m_quantLabel, &m_quant}}) {
        *label = new QLabel(this);
        *value = new QLabel(this);
        (*value)->setTextInteractionFlags(Qt::TextSelectableByMouse);
        (*value)->setWordWrap(true);
        m_form->addRow(*label, *value);
    }
    layout->addLayout(m_form);
    m_quant->setObjectName(QStringLiteral("modelQuantization"));
    m_quantWarning = new QLabel(this);
    m_quantWarning->setObjectName(QStringLiteral("modelQuantizationWarning"));
    m_quantWarning->setWordWrap(true);
    m_quantWarning->setStyleSheet(QStringLiteral("color: #a05a00;"));
    m_quantWarning->hide();
    layout->addWidget(m_quantWarning);
    m_about = new QLabel(this);
    m_about->setObjectName(QStringLiteral("modelAbout"));
    m_about->setWordWrap(true);
    m_about->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_about->hide();
    layout->addWidget(m_about);
    m_sources = new QLabel(this);
    m_sources->setObjectName(QStringLiteral("modelSources"));
    m_sources->setWordWrap(true);
    m_sources->setTextFormat(Qt::RichText);
    m_sources->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_sources->hide();
    layout->addWidget(m_sources);

    auto *buttons = new QHBoxLayout;
    m_open = new QPushButton(this);
    m_default = new QPushButton(this);
    buttons->addWidget(m_open);
    buttons->addWidget(m_default);
    layout->addLayout(buttons);
    layout->addStretch(1);
    connect(m_open, &QPushButton::clicked, this, &ModelPanel::openFolderRequested);
    connect(m_default, &QPushButton::clicked, this, &ModelPanel::useDefaultRequested);
    retranslateUi();
    showNoModel();
}

void ModelPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ModelPanel::retranslateUi()
{
    m_nameLabel->setText(tr("Model:"));
    m_familyLabel->setText(tr("Family:"));
    m_sizeLabel->setText(tr("Size:"));
    m_dtypeLabel->setText(tr("Precision:"));
    m_deviceLabel->setText(tr("Device:"));
    m_contextLabel->setText(tr("Context:"));
    m_folderLabel->setText(tr("Folder:"));
    m_quantLabel->setText(tr("Weights:"));
    updateQuantization();
    m_open->setText(tr("Open Model Folder…"));
    m_default->setText(tr("Use Bundled Model"));
    m_sources->setText(sourcesText());
    switch (m_state) {
    case State::None:
        m_status->setText(m_detail.isEmpty() ? tr("No model is loaded. The slice plan works without one.")
                                             : m_detail);
        break;
    case State::Loading:
        m_status->setText(tr("Loading %1…").arg(m_detail));
        break;
    case State::Loaded:
        m_status->setText(tr("Ready."));
        break;
    case State::Failed:
        m_status->setText(tr("Could not load the model:") + QLatin1Char('\n') + m_detail);
        break;
    }
}

namespace {

// Labels of core's SettingSource keys (engine.h), one row per key; translated where shown.
struct SettingLabel
{
    const char *key;
    const char *label;
};
constexpr SettingLabel kSettingLabels[] = {
    {"slice.scale", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Slice size")},
    {"slice.max", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Max slices")},
    {"slice.patch", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Patch")},
    {"slice.mode", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Slicing")},
    {"pixel.norm", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Pixel normalisation")},
    {"stop.ids", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Stop token ids")},
    {"tokens.added", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Added tokens")},
    {"tokens.split", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Tokens the prompt is split on")},
    {"weights.llm", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Language-model tensor types")},
    {"weights.mmproj", QT_TRANSLATE_NOOP("uhdlens::ui::ModelPanel", "Vision-projector tensor types")},
};

} // namespace

// One line per setting: "Max slices: 9 — preprocessor_config.json". The keys are core's SettingSource ids.
QString ModelPanel::sourcesText() const
{
    if (m_settingSources.empty())
        return {};
    QString html = QStringLiteral("<b>%1</b>").arg(tr("Settings and where they came from:").toHtmlEscaped());
    for (const SettingSource &s : m_settingSources) {
        const auto known = std::find_if(std::begin(kSettingLabels), std::end(kSettingLabels),
                                        [&](const SettingLabel &l) { return s.key == l.key; });
        const QString what =
            known != std::end(kSettingLabels) ? tr(known->label) : QString::fromStdString(s.key);
        const QString from =
            s.source == "default" ? tr("the family's default") : QString::fromStdString(s.source);
        html += QStringLiteral("<br>%1: %2 — <i>%3</i>")
                    .arg(what.toHtmlEscaped(), QString::fromStdString(s.value).toHtmlEscaped(),
                         from.toHtmlEscaped());
    }
    return html;
}

// The threshold is deliberately modest. llama.cpp's MiniCPM-V guide and OpenBMB's own GGUF releases keep the
// mmproj (vision projector) at F16 and offer Q4_K_M and up for the language model, recommending Q8_0 (or at
// least Q4_K_M+) where reading matters; 4-bit-and-lower types measurably lose fine detail, and small text
// is where that shows first. So: a language model with any tensor of 4 bits or fewer (Q4_0, Q4_1, Q4_K,
// Q3_K, Q2_K, the IQ/TQ families, MXFP4), or a projector below F16/BF16/Q8_0, gets a warning, not a refusal.
bool ModelPanel::lowPrecisionForLlm(const QString &type)
{
    const QString t = type.toUpper();
    if (t.startsWith(QLatin1String("IQ")) || t.startsWith(QLatin1String("TQ")) || t == QLatin1String("MXFP4"))
        return true;
    // Q<bits>_...: Q2_K, Q3_K, Q4_0, Q4_1, Q4_K (Q5_*, Q6_K, Q8_* are above the line).
    return t.size() >= 2 && t[0] == QLatin1Char('Q') && t[1].isDigit() && t[1].digitValue() <= 4;
}

bool ModelPanel::lowPrecisionForMmproj(const QString &type)
{
    const QString t = type.toUpper();
    return t != QLatin1String("F32") && t != QLatin1String("F16") && t != QLatin1String("BF16") &&
           t != QLatin1String("Q8_0");
}

namespace {

// core's "weights.llm" / "weights.mmproj" values: "F32 x12, Q4_0 x20" (then "; dequantized to f32 once:
// ...").
QStringList typeNames(const std::string &value)
{
    QStringList out;
    const QString counts = QString::fromStdString(value).section(QLatin1Char(';'), 0, 0);
    for (const QString &part : counts.split(QLatin1Char(','), Qt::SkipEmptyParts))
        out << part.trimmed().section(QLatin1Char(' '), 0, 0);
    return out;
}

QString typeCounts(const std::string &value)
{
    return QString::fromStdString(value).section(QLatin1Char(';'), 0, 0).trimmed();
}

} // namespace

QString ModelPanel::quantizationText() const
{
    return m_quant->text() == QStringLiteral("—") ? QString() : m_quant->text();
}

QString ModelPanel::quantizationWarning() const
{
    return m_quantWarning->isHidden() ? QString() : m_quantWarning->text();
}

void ModelPanel::updateQuantization()
{
    QStringList lines;
    m_lowLlm.clear();
    m_lowMmproj.clear();
    for (const SettingSource &s : m_settingSources) {
        const bool llm = s.key == "weights.llm", mmproj = s.key == "weights.mmproj";
        if (!llm && !mmproj)
            continue;
        lines << (llm ? tr("language model: %1") : tr("vision projector: %1")).arg(typeCounts(s.value));
        for (const QString &t : typeNames(s.value))
            if (llm ? lowPrecisionForLlm(t) : lowPrecisionForMmproj(t))
                (llm ? m_lowLlm : m_lowMmproj) << t;
    }
    m_quant->setText(lines.isEmpty() ? QStringLiteral("—") : lines.join(QLatin1Char('\n')));
    m_quantLabel->setVisible(!lines.isEmpty());
    m_quant->setVisible(!lines.isEmpty());
    QStringList warn;
    if (!m_lowLlm.isEmpty())
        warn << tr("The language model uses %1, a 4-bit-or-lower quantization; it may misread small text. "
                   "Q8_0 (or at least Q4_K_M) reads better.")
                    .arg(m_lowLlm.join(QStringLiteral(", ")));
    if (!m_lowMmproj.isEmpty())
        warn
            << tr("The vision projector uses %1; it is usually kept at F16, and below that small text may be "
                  "misread.")
                   .arg(m_lowMmproj.join(QStringLiteral(", ")));
    m_quantWarning->setText(warn.join(QLatin1Char('\n')));
    m_quantWarning->setVisible(!warn.isEmpty());
}

QString ModelPanel::formatBytes(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1);
}

QString ModelPanel::formatParameters(qint64 parameters)
{
    if (parameters >= 1'000'000'000)
        return tr("%1 B parameters").arg(parameters / 1e9, 0, 'f', 2);
    if (parameters >= 1'000'000)
        return tr("%1 M parameters").arg(parameters / 1e6, 0, 'f', 1);
    return tr("%1 parameters").arg(parameters);
}

void ModelPanel::showLoading(const QString &folder)
{
    m_state = State::Loading;
    m_detail = folder;
    m_progress->setValue(0);
    m_progress->show();
    retranslateUi();
}

void ModelPanel::showProgress(double fraction, const QString &stage)
{
    m_progress->show();
    m_progress->setValue(static_cast<int>(fraction * 1000));
    m_progress->setFormat(stage);
    m_progress->setTextVisible(!stage.isEmpty());
}

void ModelPanel::showModel(const ModelInfo &info)
{
    m_state = State::Loaded;
    m_detail.clear();
    m_progress->hide();
    m_name->setText(QString::fromStdString(info.name));
    m_family->setText(QString::fromStdString(nameOf(info.family)));
    m_size->setText(formatParameters(info.parameters) + QStringLiteral(" · ") +
                    formatBytes(info.weightBytes));
    m_dtype->setText(info.dtype == Dtype::Mixed ? tr("mixed (bf16 weights, f32 arithmetic)")
                                                : QString::fromStdString(nameOf(info.dtype)));
    m_device->setText(QString::fromStdString(info.device));
    m_context->setText(tr("%1 tokens").arg(info.contextLength));
    m_folder->setText(QString::fromStdString(info.modelDir));
    // Shown as the model folder wrote it (not translated): the model's own statement of its abilities.
    m_about->setText(QString::fromStdString(info.description));
    m_about->setVisible(!info.description.empty());
    m_settingSources = info.settingSources;
    m_sources->setVisible(!m_settingSources.empty());
    QStringList tips;
    for (const std::string &w : info.warnings)
        tips << QString::fromStdString(w);
    m_status->setToolTip(tips.join(QLatin1Char('\n')));
    retranslateUi();
}

void ModelPanel::showNoModel(const QString &reason)
{
    m_state = State::None;
    m_detail = reason;
    m_progress->hide();
    for (QLabel *l : {m_name, m_family, m_size, m_dtype, m_device, m_context, m_folder})
        l->setText(QStringLiteral("—"));
    m_about->hide();
    m_settingSources.clear();
    m_sources->hide();
    retranslateUi();
}

void ModelPanel::showError(const QString &message)
{
    m_state = State::Failed;
    m_detail = message;
    m_progress->hide();
    for (QLabel *l : {m_name, m_family, m_size, m_dtype, m_device, m_context, m_folder})
        l->setText(QStringLiteral("—"));
    m_about->hide();
    m_settingSources.clear();
    m_sources->hide();
    retranslateUi();
}

QString ModelPanel::statusText() const
{
    return m_status->text();
}

} // namespace uhdlens::ui
