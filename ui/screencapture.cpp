#include "screencapture.h"

#include <QCursor>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPointer>
#include <QScreen>

#include <memory>
#include <utility>
#include <vector>

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
    // Every screen is frozen at once, each under its own full-screen grabber (a grab is in that screen's
    // device pixels, so mixed scale factors stay exact); the user drags on whichever screen holds the region.
    // The grabber returned is the one on the screen under the pointer, and it speaks for all of them: the
    // others' captured/cancelled are forwarded through it, and the first answer closes the whole group.
    QScreen *pointerScreen = QGuiApplication::screenAt(QCursor::pos());
    if (!pointerScreen)
        pointerScreen = QGuiApplication::primaryScreen();
    std::vector<std::pair<QScreen *, QPixmap>> grabs;
    for (QScreen *screen : QGuiApplication::screens()) {
        QPixmap grab = screen->grabWindow(0);
        if (!grab.isNull())
            grabs.emplace_back(screen, std::move(grab));
    }
    if (grabs.empty()) {
        *reason = tr("The screen could not be grabbed.");
        return nullptr;
    }
    auto group = std::make_shared<QList<QPointer<RegionGrabber>>>();
    RegionGrabber *primary = nullptr;
    for (auto &[screen, grab] : grabs) {
        auto *grabber = new RegionGrabber(grab);
        grabber->setGeometry(screen->geometry());
        group->append(grabber);
        if (screen == pointerScreen || !primary)
            primary = grabber;
    }
    auto closeAll = [group] {
        for (const QPointer<RegionGrabber> &g : *group)
            if (g)
                g->close();
    };
    for (const QPointer<RegionGrabber> &g : *group) {
        if (g != primary) {
            connect(g, &RegionGrabber::captured, primary, &RegionGrabber::captured);
            connect(g, &RegionGrabber::cancelled, primary, &RegionGrabber::cancelled);
        }
        // Queued, on the application: the grabber that answered closes (and is deleted) itself first.
        connect(g, &RegionGrabber::captured, qApp, closeAll, Qt::QueuedConnection);
        connect(g, &RegionGrabber::cancelled, qApp, closeAll, Qt::QueuedConnection);
        g->showFullScreen();
    }
    primary->activateWindow();
    return primary;
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
