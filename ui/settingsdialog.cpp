#include "settingsdialog.h"

#include "language.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

namespace uhdlens::ui {

SettingsDialog::SettingsDialog(const Preferences &prefs, QWidget *parent) : QDialog(parent)
{
    auto *layout = new QVBoxLayout(this);
    m_form = new QFormLayout;
    m_maxTokens = new QSpinBox(this);
    m_maxTokens->setRange(1, 8192);
    m_maxTokens->setValue(prefs.generation.maxNewTokens);
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setRange(0.0, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(prefs.generation.temperature);
    m_topK = new QSpinBox(this);
    m_topK->setRange(0, 1000);
    m_topK->setValue(prefs.generation.topK);
    m_topP = new QDoubleSpinBox(this);
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(prefs.generation.topP);
    m_repetition = new QDoubleSpinBox(this);
    m_repetition->setRange(1.0, 3.0);
    m_repetition->setSingleStep(0.05);
    m_repetition->setValue(prefs.generation.repetitionPenalty);
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, 1'000'000'000);
    m_seed->setValue(static_cast<int>(prefs.generation.seed));
    m_stops = new QLineEdit(this);
    QStringList stops;
    for (const std::string &s : prefs.generation.stopStrings)
        stops << QString::fromStdString(s);
    m_stops->setText(stops.join(QLatin1Char('|')));
    m_device = new QComboBox(this);
    for (const std::string &d : allNames<Device>()) // the stored values are the name table's spellings
        m_device->addItem(QString::fromStdString(d), QString::fromStdString(d));
    m_device->setCurrentIndex(std::max(0, m_device->findData(prefs.device)));
    m_dtype = new QComboBox(this);
    for (const std::string &d : allNames<Dtype>())
        m_dtype->addItem(QString::fromStdString(d), QString::fromStdString(d));
    m_dtype->setCurrentIndex(std::max(0, m_dtype->findData(prefs.dtype)));
    m_language = new QComboBox(this);
    m_language->setObjectName(QStringLiteral("languageCombo"));
    for (const QString &code : availableLanguages())
        m_language->addItem(nativeLanguageName(code), code);
    m_language->setCurrentIndex(std::max(0, m_language->findData(prefs.language)));
    m_plainText = new QCheckBox(this);
    m_plainText->setObjectName(QStringLiteral("plainTextAnswers"));
    m_plainText->setChecked(prefs.plainTextAnswers);
    m_thinking = new QCheckBox(this);
    m_thinking->setObjectName(QStringLiteral("thinkingMode"));
    m_thinking->setChecked(prefs.generation.thinking);
    for (QWidget *w : std::initializer_list<QWidget *>{m_maxTokens, m_temperature, m_topK, m_topP, m_repetition,
                                                      m_seed, m_stops, m_device, m_dtype, m_language})
        m_form->addRow(new QLabel(this), w);
    m_form->addRow(m_plainText);
    m_form->addRow(m_thinking);
    layout->addLayout(m_form);
    m_note = new QLabel(this);
    m_note->setWordWrap(true);
    layout->addWidget(m_note);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(m_buttons);
    retranslateUi();
}

void SettingsDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDialog::changeEvent(event);
}

void SettingsDialog::retranslateUi()
{
    setWindowTitle(tr("Preferences"));
    const QStringList labels = {tr("Max new tokens:"), tr("Temperature (0 = greedy):"), tr("Top-k (0 = off):"),
                                tr("Top-p (1 = off):"), tr("Repetition penalty:"), tr("Seed:"),
                                tr("Stop strings (separated by |):"), tr("Device:"), tr("Precision:"),
                                tr("Language:")};
    for (int row = 0; row < labels.size() && row < m_form->rowCount(); ++row) {
        if (auto *label = qobject_cast<QLabel *>(m_form->itemAt(row, QFormLayout::LabelRole)->widget()))
            label->setText(labels[row]);
    }
    m_plainText->setText(tr("Show answers as plain text"));
    m_plainText->setToolTip(
        tr("Show answers as the model wrote them instead of rendering their Markdown (tables, "
           "code blocks, lists)"));
    m_thinking->setText(tr("Thinking mode (MiniCPM-V 4.5)"));
    m_thinking->setToolTip(tr("The model reasons before it answers, and the answer shows the reasoning first. "
                              "Slower; only models with a thinking switch use it, the others ignore it."));
    m_note->setText(tr("Device and precision apply the next time a model is loaded."));
}

Preferences SettingsDialog::preferences() const
{
    Preferences p;
    p.generation.maxNewTokens = m_maxTokens->value();
    p.generation.temperature = static_cast<float>(m_temperature->value());
    p.generation.topK = m_topK->value();
    p.generation.topP = static_cast<float>(m_topP->value());
    p.generation.repetitionPenalty = static_cast<float>(m_repetition->value());
    p.generation.seed = static_cast<std::uint64_t>(m_seed->value());
    for (const QString &s : m_stops->text().split(QLatin1Char('|'), Qt::SkipEmptyParts))
        p.generation.stopStrings.push_back(s.toStdString());
    p.device = m_device->currentData().toString();
    p.dtype = m_dtype->currentData().toString();
    p.language = m_language->currentData().toString();
    p.plainTextAnswers = m_plainText->isChecked();
    p.generation.thinking = m_thinking->isChecked();
    return p;
}

} // namespace uhdlens::ui
