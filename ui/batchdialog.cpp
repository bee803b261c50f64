#include "batchdialog.h"

#include "engineworker.h"
#include "session.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace uhdlens::ui {

namespace {

// "2:48" or "1:02:05", as the CLI's progress line writes durations.
QString clockText(double seconds)
{
    const qint64 s = qRound64(seconds);
    if (s >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg(s / 60 % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QTableWidgetItem *readOnlyItem(const QString &text)
{
    auto *item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return item;
}

} // namespace

BatchDialog::BatchDialog(Session *session, QWidget *parent) : QDialog(parent), m_session(session)
{
    setObjectName(QStringLiteral("batchDialog"));
    auto *layout = new QVBoxLayout(this);

    // What to read: folders (recursive) and files.
    m_inputsLabel = new QLabel(this);
    layout->addWidget(m_inputsLabel);
    auto *inputsRow = new QHBoxLayout;
    m_inputs = new QListWidget(this);
    m_inputs->setObjectName(QStringLiteral("batchInputs"));
    m_inputs->setMaximumHeight(72);
    inputsRow->addWidget(m_inputs, 1);
    auto *inputButtons = new QVBoxLayout;
    m_addFolder = new QPushButton(this);
    m_addFiles = new QPushButton(this);
    m_clearInputs = new QPushButton(this);
    for (QPushButton *b : {m_addFolder, m_addFiles, m_clearInputs}) {
        b->setAutoDefault(false);
        inputButtons->addWidget(b);
    }
    inputButtons->addStretch(1);
    inputsRow->addLayout(inputButtons);
    layout->addLayout(inputsRow);

    // What to ask.
    auto *form = new QFormLayout;
    auto *askRow = new QHBoxLayout;
    m_askRadio = new QRadioButton(this);
    m_question = new QLineEdit(this);
    m_question->setObjectName(QStringLiteral("batchQuestion"));
    askRow->addWidget(m_askRadio);
    askRow->addWidget(m_question, 1);
    form->addRow(askRow);
    m_transcribeRadio = new QRadioButton(this);
    m_transcribeRadio->setChecked(true);
    form->addRow(m_transcribeRadio);

    // Where to write.
    auto *outRow = new QHBoxLayout;
    m_output = new QLineEdit(this);
    m_output->setObjectName(QStringLiteral("batchOutput"));
    m_chooseOutput = new QPushButton(this);
    m_chooseOutput->setAutoDefault(false);
    outRow->addWidget(m_output, 1);
    outRow->addWidget(m_chooseOutput);
    m_outputLabel = new QLabel(this);
    form->addRow(m_outputLabel, outRow);
    layout->addLayout(form);
    m_settingsLine = new QLabel(this);
    m_settingsLine->setObjectName(QStringLiteral("batchSettings"));
    m_settingsLine->setWordWrap(true);
    layout->addWidget(m_settingsLine);

    // Progress and results.
    auto *progressRow = new QHBoxLayout;
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progressLabel = new QLabel(this);
    m_progressLabel->setObjectName(QStringLiteral("batchProgress"));
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_progressLabel, 1);
    layout->addLayout(progressRow);
    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setObjectName(QStringLiteral("batchResults"));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setColumnWidth(FileColumn, 200);
    m_table->setColumnWidth(GridColumn, 110);
    m_table->setColumnWidth(TokensColumn, 70);
    layout->addWidget(m_table, 1);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("batchStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);

    auto *buttons = new QDialogButtonBox(this);
    m_start = buttons->addButton(QString(), QDialogButtonBox::ActionRole);
    m_start->setObjectName(QStringLiteral("batchStart"));
    m_cancel = buttons->addButton(QString(), QDialogButtonBox::ActionRole);
    m_cancel->setObjectName(QStringLiteral("batchCancel"));
    m_close = buttons->addButton(QDialogButtonBox::Close);
    layout->addWidget(buttons);

    connect(m_addFolder, &QPushButton::clicked, this, &BatchDialog::chooseFolder);
    connect(m_addFiles, &QPushButton::clicked, this, &BatchDialog::chooseFiles);
    connect(m_clearInputs, &QPushButton::clicked, this, [this] {
        m_inputs->clear();
        updateState();
    });
    connect(m_chooseOutput, &QPushButton::clicked, this, &BatchDialog::chooseOutput);
    connect(m_start, &QPushButton::clicked, this, &BatchDialog::start);
    connect(m_cancel, &QPushButton::clicked, this, &BatchDialog::cancel);
    connect(m_close, &QPushButton::clicked, this,
            &QDialog::close); // a running batch goes on; reopen to see it
    connect(m_askRadio, &QRadioButton::toggled, this, &BatchDialog::updateState);
    connect(m_question, &QLineEdit::textChanged, this, [this] {
        if (!m_question->text().isEmpty())
            m_askRadio->setChecked(true);
        updateState();
    });
    connect(m_output, &QLineEdit::textChanged, this, &BatchDialog::updateState);
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        if (row >= 0 && row < static_cast<int>(m_records.size()) && !m_records[size_t(row)].file.empty())
            Q_EMIT openResultRequested(QString::fromStdString(m_records[size_t(row)].file), m_asked,
                                       m_records[size_t(row)]);
    });

    EngineWorker *w = m_session->engine();
    connect(w, &EngineWorker::batchStarted, this, &BatchDialog::onStarted);
    connect(w, &EngineWorker::batchImageStarted, this, &BatchDialog::onImageStarted);
    connect(w, &EngineWorker::batchRecord, this, &BatchDialog::onRecord);
    connect(w, &EngineWorker::batchFinished, this, &BatchDialog::onFinished);
    connect(w, &EngineWorker::batchFailed, this, &BatchDialog::onFailed);
    connect(m_session, &Session::modelLoaded, this, &BatchDialog::updateState);
    connect(m_session, &Session::modelUnloaded, this, &BatchDialog::updateState);
    connect(m_session, &Session::modelFailed, this, &BatchDialog::updateState);
    connect(m_session, &Session::planChanged, this, &BatchDialog::updateSettingsLine);

    resize(860, 600);
    retranslateUi();
    updateState();
}

void BatchDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDialog::changeEvent(event);
}

void BatchDialog::retranslateUi()
{
    setWindowTitle(tr("Batch"));
    m_inputsLabel->setText(
        tr("Images: the folders are read recursively; images are recognised by their content."));
    m_addFolder->setText(tr("Add &Folder…"));
    m_addFiles->setText(tr("Add F&iles…"));
    m_clearInputs->setText(tr("C&lear"));
    m_askRadio->setText(tr("&Ask:"));
    m_question->setPlaceholderText(tr("The question asked about every image"));
    m_transcribeRadio->setText(
        tr("&Transcribe: the model's transcription prompt (text in reading order, tables "
           "as Markdown)"));
    m_outputLabel->setText(tr("&Output file:"));
    m_outputLabel->setBuddy(m_output);
    m_output->setPlaceholderText(tr("results.jsonl, results.csv or results.md (replaced if it exists)"));
    m_chooseOutput->setText(tr("C&hoose…"));
    m_start->setText(tr("&Start"));
    m_cancel->setText(tr("&Cancel Run"));
    m_cancel->setToolTip(
        tr("Stop inside the current image; the output file keeps the records written so far"));
    m_table->setHorizontalHeaderLabels({tr("File"), tr("Grid"), tr("Tokens"), tr("Answer or error")});
    m_table->setToolTip(tr("Double-click a row to open the image with its answer"));
    updateSettingsLine();
    updateProgress();
}

void BatchDialog::updateSettingsLine()
{
    const std::optional<ModelInfo> &info = m_session->modelInfo();
    if (!info) {
        m_settingsLine->setText(tr("No model is loaded: load one to run a batch."));
        return;
    }
    const SlicePolicy policy = m_session->effectivePolicy();
    // Transcription gets at least batch::kTranscribeMaxNewTokens (start() does the same).
    const int questionLimit = m_session->generationSettings().maxNewTokens;
    const int maxNewTokens = m_transcribeRadio->isChecked()
                                 ? std::max(questionLimit, batch::kTranscribeMaxNewTokens)
                                 : questionLimit;
    const QString slicing =
        policy.kind == PolicyKind::Llava15
            ? QString::fromStdString(policy.name())
            : tr("%1, at most %2 slices").arg(QString::fromStdString(policy.name())).arg(policy.maxSlices);
    m_settingsLine->setText(
        tr("Model %1 · slicing %2 (from the plan panel) · at most %n new token(s) per answer "
           "(Preferences)",
           nullptr, maxNewTokens)
            .arg(QString::fromStdString(info->name), slicing));
}

void BatchDialog::updateState()
{
    const bool running = isRunning();
    for (QWidget *w :
         std::initializer_list<QWidget *>{m_inputs, m_addFolder, m_addFiles, m_clearInputs, m_askRadio,
                                          m_transcribeRadio, m_question, m_output, m_chooseOutput})
        w->setEnabled(!running);
    m_start->setEnabled(!running && m_session->modelInfo().has_value() && m_inputs->count() > 0 &&
                        !m_output->text().trimmed().isEmpty() &&
                        (m_transcribeRadio->isChecked() || !m_question->text().trimmed().isEmpty()));
    m_cancel->setEnabled(running);
    updateSettingsLine();
}

void BatchDialog::setInputs(const QStringList &paths)
{
    m_inputs->clear();
    for (const QString &p : paths)
        m_inputs->addItem(QDir::toNativeSeparators(QFileInfo(p).absoluteFilePath()));
    updateState();
}

QStringList BatchDialog::inputs() const
{
    QStringList paths;
    for (int i = 0; i < m_inputs->count(); ++i)
        paths << QDir::fromNativeSeparators(m_inputs->item(i)->text());
    return paths;
}

void BatchDialog::setQuestion(const QString &question)
{
    m_question->setText(question);
    m_askRadio->setChecked(true);
}

void BatchDialog::setTranscribe(bool on)
{
    (on ? m_transcribeRadio : m_askRadio)->setChecked(true);
}

void BatchDialog::setOutputFile(const QString &path)
{
    m_output->setText(path);
}

QString BatchDialog::outputFile() const
{
    return m_output->text().trimmed();
}

void BatchDialog::chooseFolder()
{
    auto *dialog = new QFileDialog(this, tr("Add a Folder of Images"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::Directory);
    dialog->setOption(QFileDialog::ShowDirsOnly, true);
    connect(dialog, &QFileDialog::fileSelected, this,
            [this](const QString &folder) { setInputs(inputs() << folder); });
    dialog->open();
}

void BatchDialog::chooseFiles()
{
    auto *dialog = new QFileDialog(this, tr("Add Images"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFiles);
    connect(dialog, &QFileDialog::filesSelected, this,
            [this](const QStringList &files) { setInputs(inputs() + files); });
    dialog->open();
}

void BatchDialog::chooseOutput()
{
    auto *dialog = new QFileDialog(this, tr("Batch Output File"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave); // asks before replacing a file
    dialog->setNameFilters({tr("JSON lines (*.jsonl)"), tr("CSV (*.csv)"), tr("Markdown (*.md)")});
    dialog->setDefaultSuffix(QStringLiteral("jsonl"));
    connect(dialog, &QFileDialog::filterSelected, dialog, [dialog](const QString &filter) {
        dialog->setDefaultSuffix(filter.section(QLatin1String("*."), 1).chopped(1)); // "jsonl", "csv", "md"
    });
    connect(dialog, &QFileDialog::fileSelected, this, &BatchDialog::setOutputFile);
    dialog->open();
}

bool BatchDialog::start()
{
    QString problem;
    const QString out = outputFile();
    if (isRunning())
        problem = tr("A batch is already running.");
    else if (!m_session->modelInfo())
        problem = tr("No model is loaded: load one to run a batch.");
    else if (m_inputs->count() == 0)
        problem = tr("Add a folder or image files first.");
    else if (m_askRadio->isChecked() && m_question->text().trimmed().isEmpty())
        problem = tr("Type the question to ask about every image, or choose Transcribe.");
    else if (out.isEmpty())
        problem = tr("Choose the output file.");
    else if (!batch::formatForPath(out.toStdString()))
        problem = tr("Cannot tell the output format of %1: name it .jsonl, .csv or .md.").arg(out);
    else if (QFileInfo(out).isDir())
        problem = tr("%1 is a folder; choose a file.").arg(out);
    if (!problem.isEmpty()) {
        m_status->setText(problem);
        return false;
    }

    EngineWorker *w = m_session->engine();
    BatchRequest request;
    request.id = w->nextRequestId();
    request.paths = inputs();
    request.outPath = QFileInfo(out).absoluteFilePath();
    request.transcribe = m_transcribeRadio->isChecked();
    request.question = m_question->text().trimmed();
    // The slicing and generation settings the window asks with now (plan panel, Preferences).
    const SlicePolicy policy = m_session->effectivePolicy();
    request.policy = policy;
    request.maxSlices = policy.kind == PolicyKind::Llava15 ? -1 : policy.maxSlices;
    request.settings = m_session->generationSettings();
    const std::optional<ModelInfo> &info = m_session->modelInfo();
    request.settings.thinking = request.settings.thinking && info && info->thinkingMode; // as Session asks
    if (request.transcribe) // a page is long, as with `uhdlens-cli batch --transcribe`
        request.settings.maxNewTokens =
            std::max(request.settings.maxNewTokens, batch::kTranscribeMaxNewTokens);

    m_requestId = request.id;
    m_records.clear();
    m_table->setRowCount(0);
    m_total = m_done = m_failed = 0;
    m_current = -1;
    m_asked.clear();
    m_progress->setRange(0, 0); // busy until the engine has walked the folders
    m_status->setText(tr("Looking for images…"));
    m_progressLabel->clear();
    QMetaObject::invokeMethod(
        w, [w, request] { w->runBatch(request); }, Qt::QueuedConnection);
    updateState();
    Q_EMIT runStarted();
    return true;
}

void BatchDialog::cancel()
{
    if (!isRunning())
        return;
    m_session->engine()->cancel(m_requestId); // thread-safe; the run ends with batchFinished(interrupted)
    m_status->setText(tr("Cancelling…"));
}

QString BatchDialog::statusText() const
{
    return m_status->text();
}

QString BatchDialog::progressText() const
{
    return m_progressLabel->text();
}

void BatchDialog::onStarted(quint64 id, int total, int skipped, const QString &question)
{
    if (id != m_requestId)
        return;
    m_total = total;
    m_asked = question;
    m_records.assign(size_t(total), batch::Record{});
    m_table->setRowCount(total);
    m_progress->setRange(0, total);
    m_progress->setValue(0);
    m_clock.start();
    QString text = tr("%n image(s) to do", nullptr, total);
    if (skipped > 0)
        text += QStringLiteral("; ") + tr("%n non-image file(s) skipped", nullptr, skipped);
    m_status->setText(text + QStringLiteral(". ") + tr("Question: %1").arg(question));
    updateProgress();
}

void BatchDialog::onImageStarted(quint64 id, int index, const QString &path)
{
    if (id != m_requestId || index < 0 || index >= m_table->rowCount())
        return;
    m_current = index;
    auto *file = readOnlyItem(QFileInfo(path).fileName());
    file->setToolTip(QDir::toNativeSeparators(path));
    m_table->setItem(index, FileColumn, file);
    auto *working = readOnlyItem(tr("working…"));
    QFont italic = working->font();
    italic.setItalic(true);
    working->setFont(italic);
    m_table->setItem(index, AnswerColumn, working);
    m_table->scrollToItem(file);
}

void BatchDialog::setRecord(int row, const batch::Record &r)
{
    const QString path = QString::fromStdString(r.file);
    auto *file = readOnlyItem(QFileInfo(path).fileName());
    file->setToolTip(QDir::toNativeSeparators(path));
    m_table->setItem(row, FileColumn, file);
    const bool planned = r.slices > 0 || r.visualTokens > 0;
    QString grid;
    if (planned)
        grid = r.gridCols > 0 ? tr("%1×%2, %n slice(s)", nullptr, r.slices).arg(r.gridCols).arg(r.gridRows)
                              : tr("overview only");
    m_table->setItem(row, GridColumn, readOnlyItem(grid));
    auto *tokens = readOnlyItem(planned ? QString::number(r.visualTokens) : QString());
    tokens->setToolTip(tr("%1 visual tokens; %2 prompt tokens; %3 tokens generated")
                           .arg(r.visualTokens)
                           .arg(r.promptTokens)
                           .arg(r.generatedTokens));
    m_table->setItem(row, TokensColumn, tokens);
    const bool ok = r.status == batch::Status::Ok;
    const QString full = QString::fromStdString(ok ? r.answer : r.error);
    auto *answer = readOnlyItem(full.simplified());
    answer->setToolTip(full.left(2000));
    if (!ok)
        answer->setForeground(QColor(0xc6, 0x28, 0x28));
    m_table->setItem(row, AnswerColumn, answer);
}

void BatchDialog::onRecord(quint64 id, int index, const batch::Record &record)
{
    if (id != m_requestId || index < 0 || index >= static_cast<int>(m_records.size()))
        return;
    m_records[size_t(index)] = record;
    setRecord(index, record);
    ++m_done;
    m_failed += record.status == batch::Status::Error;
    m_progress->setValue(m_done);
    updateProgress();
}

void BatchDialog::updateProgress()
{
    if (m_total <= 0)
        return;
    // Images per minute and ETA from the whole run so far, as the CLI's progress line.
    const double minutes = m_clock.isValid() ? m_clock.elapsed() / 60000.0 : 0.0;
    const double rate = minutes > 0 ? m_done / minutes : 0.0;
    const QString eta = rate > 0 ? clockText((m_total - m_done) / rate * 60.0) : QStringLiteral("?");
    m_progressLabel->setText(
        tr("%1 / %2 images · %3 images/min · ETA %4").arg(m_done).arg(m_total).arg(rate, 0, 'f', 1).arg(eta));
}

void BatchDialog::endRun(const QString &message)
{
    m_requestId = 0;
    if (m_progress->maximum() == 0) // never started: no busy bar left running
        m_progress->setRange(0, 1);
    m_status->setText(message);
    updateState();
    Q_EMIT runFinished();
}

void BatchDialog::onFinished(quint64 id, int written, int failed, bool interrupted)
{
    if (id != m_requestId)
        return;
    const QString out = QDir::toNativeSeparators(QFileInfo(outputFile()).absoluteFilePath());
    if (interrupted) {
        // The image being worked on when the run stopped has no record (a resumed CLI run does it again).
        if (m_current >= 0 && m_current < static_cast<int>(m_records.size()) &&
            m_records[size_t(m_current)].file.empty())
            m_table->setItem(m_current, AnswerColumn, readOnlyItem(tr("cancelled (not in the output file)")));
        endRun(tr("Cancelled after %1 of %2 images; %3 holds their records.")
                   .arg(written)
                   .arg(m_total)
                   .arg(out));
    } else {
        endRun(tr("Done: %n image(s)", nullptr, written) + QStringLiteral(", ") +
               tr("%n failed", nullptr, failed) + QStringLiteral("; ") + tr("wrote %1").arg(out));
    }
    updateProgress();
}

void BatchDialog::onFailed(quint64 id, const QString &message)
{
    if (id != m_requestId)
        return;
    endRun(tr("The batch stopped: %1").arg(message));
}

} // namespace uhdlens::ui
