// UHD Lens UI — the Batch dialog (File > Batch…): one question, or the model's transcription prompt, about
// every image in some files and folders, one record per image into a .jsonl, .csv or .md file
// (uhdlens/batch.h, the same walker, loop and writers as `uhdlens-cli batch`).
//
// The run is a request on the engine thread (EngineWorker::runBatch) with the loaded model and the slicing
// chosen in the plan panel; the dialog only sends it and shows what comes back through queued signals: a
// progress bar with images done, images per minute and ETA, and a results table (file, grid, tokens, answer
// or error). Cancel stops the run inside the current image, which gets no record, so the file holds complete
// records only. Double-clicking a row asks the window to open that image with its answer
// (openResultRequested). Non-modal.
#pragma once

#include "engineworker.h" // BatchRequest, and batch::Record declared as a meta-type for the signals

#include "uhdlens/batch.h"

#include <QDialog>
#include <QElapsedTimer>
#include <QStringList>

class QButtonGroup;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QTableWidget;

namespace uhdlens::ui {

class Session;

class BatchDialog : public QDialog
{
    Q_OBJECT
public:
    explicit BatchDialog(Session *session, QWidget *parent = nullptr);

    // What the form holds (the window and tests fill it without file dialogs).
    void setInputs(const QStringList &paths);
    QStringList inputs() const;
    void setQuestion(const QString &question); // and selects "Ask"
    void setTranscribe(bool on);
    void setOutputFile(const QString &path);
    QString outputFile() const;

    // Sends the run to the engine thread; false (with the reason in statusText()) when the form is incomplete
    // or no model is loaded.
    bool start();
    void cancel();
    bool isRunning() const { return m_requestId != 0; }

    QTableWidget *resultsTable() const { return m_table; }
    QProgressBar *progressBar() const { return m_progress; }
    QString statusText() const;
    QString progressText() const;
    // The question of the last run as the engine asked it (the transcription prompt when transcribing).
    QString askedQuestion() const { return m_asked; }

    // Table columns.
    enum Column
    {
        FileColumn,
        GridColumn,
        TokensColumn,
        AnswerColumn,
        ColumnCount
    };

Q_SIGNALS:
    void runStarted();
    void runFinished(); // ended in any way: done, cancelled, failed
    // A double-clicked row: the image at `path` with the answer the run recorded for it.
    void openResultRequested(const QString &path, const QString &question,
                             const uhdlens::batch::Record &record);

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void updateState();
    void updateSettingsLine();
    void chooseFolder();
    void chooseFiles();
    void chooseOutput();
    void setRecord(int row, const batch::Record &record);
    void updateProgress();
    void endRun(const QString &message);

    void onStarted(quint64 id, int total, int skipped, const QString &question);
    void onImageStarted(quint64 id, int index, const QString &path);
    void onRecord(quint64 id, int index, const batch::Record &record);
    void onFinished(quint64 id, int written, int failed, bool interrupted);
    void onFailed(quint64 id, const QString &message);

    Session *m_session = nullptr;
    QLabel *m_inputsLabel = nullptr;
    QListWidget *m_inputs = nullptr;
    QPushButton *m_addFolder = nullptr;
    QPushButton *m_addFiles = nullptr;
    QPushButton *m_clearInputs = nullptr;
    QRadioButton *m_askRadio = nullptr;
    QRadioButton *m_transcribeRadio = nullptr;
    QLineEdit *m_question = nullptr;
    QLabel *m_outputLabel = nullptr;
    QLineEdit *m_output = nullptr;
    QPushButton *m_chooseOutput = nullptr;
    QLabel *m_settingsLine = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_progressLabel = nullptr;
    QLabel *m_status = nullptr;
    QTableWidget *m_table = nullptr;
    QPushButton *m_start = nullptr;
    QPushButton *m_cancel = nullptr;
    QPushButton *m_close = nullptr;

    quint64 m_requestId = 0; // the run in progress, 0: none
    QString m_asked;
    std::vector<batch::Record> m_records; // by row; file empty: no record (yet)
    int m_total = 0;
    int m_done = 0;
    int m_failed = 0;
    int m_current = -1; // the row being worked on
    QElapsedTimer m_clock;
};

} // namespace uhdlens::ui
