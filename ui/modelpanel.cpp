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
                                std::pair{&m_folderLabel, &m_folder}}) {
        *label = new QLabel(this);
        *value = new QLabel(this);
        (*value)->setTextInteractionFlags(Qt::TextSelectableByMouse);
        (*value)->setWordWrap(true);
        m_form->addRow(*label, *value);
    }
    layout->addLayout(m_form);
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
