#include "screencapture.h"

#include <QCursor>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScreen>

namespace uhdlens::ui {

QString captureUnavailableReason()
{
    const QString platform = QGuiApplication::platformName();
    if (platform == QLatin1String("xcb"))
        return {};
    if (platform.startsWith(QLatin1String("wayland")))
        return RegionGrabber::tr("Screen capture is not available on Wayland: the compositor does not let "
                                 "applications read the screen. Take a screenshot with your desktop's tool and "
                                 "paste it here with Ctrl+V.");
    return RegionGrabber::tr("Screen capture is not available on this platform (%1). Take a screenshot with "
                             "another tool and paste it here with Ctrl+V.")
        .arg(platform);
}

RegionGrabber *RegionGrabber::start(QString *reason)
{
    *reason = captureUnavailableReason();
    if (!reason->isEmpty())
        return nullptr;
    // The screen the pointer is on (where a user pressing the capture hotkey is looking), else the primary
    // one.
    QScreen *screen = QGuiApplication::screenAt(QCursor::pos());
    if (!screen)
        screen = QGuiApplication::primaryScreen();
    const QPixmap grab = screen ? screen->grabWindow(0) : QPixmap();
    if (grab.isNull()) {
        *reason = tr("The screen could not be grabbed.");
        return nullptr;
    }
    auto *grabber = new RegionGrabber(grab);
    grabber->setGeometry(screen->geometry());
    grabber->showFullScreen();
    grabber->activateWindow();
    return grabber;
}

RegionGrabber::RegionGrabber(const QPixmap &grab) : QWidget(nullptr, Qt::FramelessWindowHint | Qt::WindowStaysOnTopHint), m_grab(grab)
{
    setAttribute(Qt::WA_DeleteOnClose);
    setCursor(Qt::CrossCursor);
    setWindowTitle(tr("Drag a rectangle to capture; Esc cancels"));
}

void RegionGrabber::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.drawPixmap(rect(), m_grab);
    p.fillRect(rect(), QColor(0, 0, 0, 110));
    if (!m_selection.isEmpty()) {
        const double sx = double(m_grab.width()) / width();
        const double sy = double(m_grab.height()) / height();
        p.drawPixmap(m_selection, m_grab,
                     QRectF(m_selection.x() * sx, m_selection.y() * sy, m_selection.width() * sx, m_selection.height() * sy));
        p.setPen(QPen(Qt::white, 1, Qt::DashLine));
        p.drawRect(m_selection);
    }
    p.setPen(Qt::white);
    p.drawText(rect().adjusted(0, 20, 0, 0), Qt::AlignHCenter | Qt::AlignTop,
               tr("Drag a rectangle to capture; Esc cancels"));
}

void RegionGrabber::mousePressEvent(QMouseEvent *event)
{
    m_dragging = true;
    m_start = event->position().toPoint();
    m_selection = QRect(m_start, QSize());
}

void RegionGrabber::mouseMoveEvent(QMouseEvent *event)
{
    if (m_dragging) {
        m_selection = QRect(m_start, event->position().toPoint()).normalized();
        update();
    }
}

void RegionGrabber::mouseReleaseEvent(QMouseEvent *)
{
    m_dragging = false;
    if (m_selection.width() < 4 || m_selection.height() < 4)
        return; // a click: keep waiting for a real drag
    // The grab is in device pixels; the widget in logical ones (high-DPI).
    const double sx = double(m_grab.width()) / width();
    const double sy = double(m_grab.height()) / height();
    const QRect source(int(m_selection.x() * sx), int(m_selection.y() * sy), int(m_selection.width() * sx),
                       int(m_selection.height() * sy));
    const QImage image = m_grab.copy(source).toImage();
    Q_EMIT captured(image);
    close();
}

void RegionGrabber::keyPressEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Escape) {
        Q_EMIT cancelled();
        close();
    }
}

} // namespace uhdlens::ui
