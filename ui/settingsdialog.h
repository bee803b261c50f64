// UHD Lens UI — preferences: generation settings, compute device and precision, language, how answers show.
// Non-modal.
#pragma once

#include "appsettings.h" // Preferences

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QSpinBox;
class QLineEdit;

namespace uhdlens::ui {

class SettingsDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SettingsDialog(const Preferences &prefs, QWidget *parent = nullptr);
    Preferences preferences() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();

    QFormLayout *m_form = nullptr;
    QSpinBox *m_maxTokens = nullptr;
    QDoubleSpinBox *m_temperature = nullptr;
    QSpinBox *m_topK = nullptr;
    QDoubleSpinBox *m_topP = nullptr;
    QDoubleSpinBox *m_repetition = nullptr;
    QSpinBox *m_seed = nullptr;
    QLineEdit *m_stops = nullptr;
    QComboBox *m_device = nullptr;
    QComboBox *m_dtype = nullptr;
    QComboBox *m_language = nullptr;
    QCheckBox *m_plainText = nullptr;
    QCheckBox *m_thinking = nullptr;
    QLabel *m_note = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
};

} // namespace uhdlens::ui
