// UHD Lens UI — screen-region capture (X11): grab the screen, let the user drag a rectangle.
//
// Wayland compositors and the offscreen platform do not let an application read the screen; there
// captureAvailability() returns a translated reason and the caller says so instead of showing an empty grab.
#pragma once

#include <QImage>
#include <QPixmap>
#include <QWidget>

namespace uhdlens::ui {

// Empty when the platform can grab the screen, else a readable reason.
QString captureUnavailableReason();

// A frameless full-screen window showing a frozen grab; drag to select, Esc to cancel. Not modal: it reports
// through signals and deletes itself.
class RegionGrabber : public QWidget
{
    Q_OBJECT
public:
    // Returns nullptr (and sets *reason) when the screen cannot be grabbed.
    static RegionGrabber *start(QString *reason);

Q_SIGNALS:
    void captured(const QImage &image);
    void cancelled();

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    explicit RegionGrabber(const QPixmap &grab);
    QPixmap m_grab;
    QPoint m_start;
    QRect m_selection;
    bool m_dragging = false;
};

} // namespace uhdlens::ui
