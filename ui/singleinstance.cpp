// One running app per user and display (singleinstance.h).
#include "singleinstance.h"

#include <QCryptographicHash>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocalServer>
#include <QLocalSocket>
#include <QPointer>

namespace uhdlens::ui {

namespace {

// One message is one JSON object on one line; anything longer than this is not a command line.
constexpr qint64 kMaxMessageBytes = 1 << 20;

QByteArray encode(const QStringList &arguments)
{
    QJsonObject message;
    message.insert(QStringLiteral("arguments"), QJsonArray::fromStringList(arguments));
    return QJsonDocument(message).toJson(QJsonDocument::Compact) + '\n';
}

// Empty on a malformed message (a stray client, a newer protocol): it is ignored, never half-applied.
QStringList decode(const QByteArray &line)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return {};
    const QJsonValue value = doc.object().value(QStringLiteral("arguments"));
    if (!value.isArray())
        return {};
    QStringList out;
    for (const QJsonValue &v : value.toArray()) {
        if (!v.isString())
            return {};
        out << v.toString();
    }
    return out;
}

} // namespace

SingleInstance::SingleInstance(QString serverName, QObject *parent)
    : QObject(parent), m_serverName(std::move(serverName))
{
}

SingleInstance::~SingleInstance() = default;

QString SingleInstance::defaultServerName()
{
    // The user's home and the display name, hashed: a socket name must be short and free of '/'.
    QByteArray key = QDir::homePath().toUtf8();
    key += '\n' + qgetenv("DISPLAY") + '\n' + qgetenv("WAYLAND_DISPLAY");
    const QByteArray hash = QCryptographicHash::hash(key, QCryptographicHash::Sha256).toHex().left(16);
    return QStringLiteral("uhdlens-%1").arg(QString::fromLatin1(hash));
}

bool SingleInstance::forwardToRunning(const QStringList &arguments, int timeoutMs)
{
    QLocalSocket socket;
    socket.connectToServer(m_serverName);
    if (!socket.waitForConnected(timeoutMs))
        return false;
    socket.write(encode(arguments));
    if (!socket.waitForBytesWritten(timeoutMs))
        return false;
    socket.disconnectFromServer();
    if (socket.state() != QLocalSocket::UnconnectedState)
        socket.waitForDisconnected(timeoutMs);
    return true;
}

bool SingleInstance::listen()
{
    if (m_server)
        return m_server->isListening();
    m_server = new QLocalServer(this);
    m_server->setSocketOptions(QLocalServer::UserAccessOption); // other users cannot drive this app
    if (!m_server->listen(m_serverName)) {
        // A crashed instance leaves its socket file behind; nobody answered on it (forwardToRunning failed),
        // so it is stale.
        QLocalServer::removeServer(m_serverName);
        if (!m_server->listen(m_serverName)) {
            m_error = m_server->errorString();
            return false;
        }
    }
    connect(m_server, &QLocalServer::newConnection, this, &SingleInstance::onNewConnection);
    return true;
}

bool SingleInstance::isListening() const
{
    return m_server && m_server->isListening();
}

void SingleInstance::onNewConnection()
{
    while (QLocalSocket *socket = m_server->nextPendingConnection()) {
        connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
        QPointer<QLocalSocket> guard(socket);
        auto read = [this, guard] {
            if (!guard || !guard->isOpen())
                return;
            if (!guard->canReadLine()) {
                if (guard->bytesAvailable() > kMaxMessageBytes) // not a command line: drop the client
                    guard->abort();
                return;
            }
            const QStringList arguments = decode(guard->readLine(kMaxMessageBytes).trimmed());
            guard->disconnectFromServer();
            if (!arguments.isEmpty())
                Q_EMIT argumentsReceived(arguments);
        };
        connect(socket, &QLocalSocket::readyRead, this, read);
        if (socket->bytesAvailable() > 0) // arrived before the connection above
            read();
    }
}

} // namespace uhdlens::ui
