// UHD Lens UI — one running app per user and display: a second launch hands its command line to the first.
//
//     SingleInstance instance(SingleInstance::defaultServerName());
//     if (instance.forwardToRunning(QCoreApplication::arguments()))   // another UHD Lens took them
//         return 0;
//     instance.listen();                                               // we are the first
//     connect(&instance, &SingleInstance::argumentsReceived, ...);     // later launches' command lines
//
// A local socket (QLocalServer: a Unix-domain socket) carries one JSON line per launch: the arguments with
// every relative file path already made absolute by the sender, since the two processes' working folders
// differ. GUI thread only.
#pragma once

#include <QObject>
#include <QStringList>

class QLocalServer;

namespace uhdlens::ui {

class SingleInstance : public QObject
{
    Q_OBJECT
public:
    explicit SingleInstance(QString serverName, QObject *parent = nullptr);
    ~SingleInstance() override;

    // "uhdlens-<user>-<display>": one instance per user and X display (or Wayland socket).
    static QString defaultServerName();

    // Sends `arguments` (argv, program name first) to a running instance; true when one received them. Waits
    // at most `timeoutMs` for the connection and the write (a blocking wait before this process has a window,
    // not an event loop).
    bool forwardToRunning(const QStringList &arguments, int timeoutMs = 1000);
    // Becomes the running instance (a stale socket file left by a crashed one is removed first). False, with
    // errorString(), when the socket cannot be created: the app then runs on its own.
    bool listen();
    bool isListening() const;
    QString errorString() const { return m_error; }
    QString serverName() const { return m_serverName; }

Q_SIGNALS:
    // A later launch's arguments (program name first), as it would have parsed them.
    void argumentsReceived(const QStringList &arguments);

private:
    void onNewConnection();

    QString m_serverName;
    QLocalServer *m_server = nullptr;
    QString m_error;
};

} // namespace uhdlens::ui
