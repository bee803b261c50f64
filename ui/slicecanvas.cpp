#include "slicecanvas.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace uhdlens::ui {

namespace {
constexpr double kMinZoom = 0.01;
constexpr double kMaxZoom = 32.0;
constexpr int kPreviewSide = 2048;
constexpr int kMargin = 12;
} // namespace

SliceCanvas::SliceCanvas(QWidget *parent) : QWidget(parent)
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(200, 150);
    setAccessibleName(tr("Image and slice plan"));
}

void SliceCanvas::setImage(const QImage &image, const QImage &preview)
{
    m_image = image;
    m_pixmap = QPixmap();
    const int longSide = std::max(image.width(), image.height());
    if (longSide > kPreviewSide) {
        const QImage small = preview.isNull() ? image.scaled(kPreviewSide, kPreviewSide, Qt::KeepAspectRatio,
                                                             Qt::SmoothTransformation)
                                              : preview;
        m_previewScale = static_cast<double>(small.width()) / image.width();
        m_preview = QPixmap::fromImage(small);
    } else {
        m_previewScale = 1.0;
        m_preview = QPixmap();
        m_pixmap = image.isNull() ? QPixmap() : QPixmap::fromImage(image);
    }
    m_region.reset();
    m_hasPlan = false;
    m_hovered = -2;
    m_textLayer.reset();
    m_hoveredWord = -1;
    m_fit = true;
    zoomToFit();
}

const QPixmap &SliceCanvas::fullPixmap()
{
    if (m_pixmap.isNull() && !m_image.isNull())
        m_pixmap = QPixmap::fromImage(m_image);
    return m_pixmap;
}

void SliceCanvas::setPlan(const SlicePlan &plan, QPoint origin)
{
    m_plan = plan;
    m_origin = origin;
    m_hasPlan = plan.overview.width > 0;
    update();
}

void SliceCanvas::clearPlan()
{
    m_hasPlan = false;
    update();
}

void SliceCanvas::setRegion(const std::optional<QRect> &region)
{
    m_region = region;
    update();
}

void SliceCanvas::setRegionMode(bool on)
{
    m_regionMode = on;
    setCursor(on ? Qt::CrossCursor : Qt::ArrowCursor);
}

void SliceCanvas::setGridVisible(bool visible)
{
    m_gridVisible = visible;
    update();
}

QList<QRect> SliceCanvas::overlayRects() const
{
    QList<QRect> rects;
    if (!m_hasPlan)
        return rects;
    for (int i = 0; i < m_plan.sliceCount(); ++i) {
        const Rect r = m_plan.sliceInOriginal(i);
        rects.append(QRect(r.x, r.y, r.width, r.height).translated(m_origin));
    }
    return rects;
}

QPointF SliceCanvas::toImage(QPointF widgetPos) const
{
    return (widgetPos - m_offset) / m_zoom;
}

QRectF SliceCanvas::toWidget(const QRectF &imageRect) const
{
    return {m_offset + imageRect.topLeft() * m_zoom, imageRect.size() * m_zoom};
}

int SliceCanvas::sliceAt(QPointF imagePos) const
{
    if (m_image.isNull() || !QRectF(m_image.rect()).contains(imagePos))
        return -2;
    const QList<QRect> rects = overlayRects();
    for (int i = 0; i < rects.size(); ++i) {
        if (QRectF(rects[i]).contains(imagePos))
            return i;
    }
    return -1;
}

void SliceCanvas::zoomToFit()
{
    m_fit = true;
    if (m_image.isNull()) {
        update();
        return;
    }
    const QSizeF avail = QSizeF(size()) - QSizeF(2 * kMargin, 2 * kMargin);
    const double z = std::clamp(std::min(avail.width() / m_image.width(), avail.height() / m_image.height()),
                                kMinZoom, kMaxZoom);
    m_zoom = z;
    m_offset = QPointF((width() - m_image.width() * z) / 2.0, (height() - m_image.height() * z) / 2.0);
    Q_EMIT zoomChanged(m_zoom);
    update();
}

void SliceCanvas::zoomActualSize()
{
    // One image pixel per device pixel: on a 2x (high-DPI) screen that is a zoom of 0.5 in logical coordinates.
    setZoomAround(1.0 / devicePixelRatioF(), QPointF(width() / 2.0, height() / 2.0));
}

void SliceCanvas::zoomIn()
{
    setZoomAround(m_zoom * 1.25, QPointF(width() / 2.0, height() / 2.0));
}

void SliceCanvas::zoomOut()
{
    setZoomAround(m_zoom / 1.25, QPointF(width() / 2.0, height() / 2.0));
}

void SliceCanvas::setZoomAround(double zoom, QPointF widgetAnchor)
{
    if (m_image.isNull())
        return;
    zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
    const QPointF imageAnchor = toImage(widgetAnchor);
    m_zoom = zoom;
    m_offset = widgetAnchor - imageAnchor * m_zoom; // keep the pixel under the anchor in place
    m_fit = false;
    Q_EMIT zoomChanged(m_zoom);
    update();
}

void SliceCanvas::resizeEvent(QResizeEvent *)
{
    if (m_fit)
        zoomToFit();
}

void SliceCanvas::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        setAccessibleName(tr("Image and slice plan"));
    else if (event->type() == QEvent::PaletteChange)
        update();
    QWidget::changeEvent(event);
}

void SliceCanvas::wheelEvent(QWheelEvent *event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0.0)
        return;
    setZoomAround(m_zoom * std::pow(1.2, steps), event->position());
    event->accept();
}

void SliceCanvas::mousePressEvent(QMouseEvent *event)
{
    m_pressPos = event->position();
    m_lastPos = event->position();
    if (event->button() == Qt::LeftButton && (m_regionMode || (event->modifiers() & Qt::ShiftModifier))) {
        m_selecting = true;
        m_selection = QRectF(toImage(m_pressPos), QSizeF());
    } else if (event->button() == Qt::LeftButton || event->button() == Qt::MiddleButton) {
        m_panning = true;
        setCursor(Qt::ClosedHandCursor);
    }
}

void SliceCanvas::mouseMoveEvent(QMouseEvent *event)
{
    if (m_selecting) {
        m_selection = QRectF(toImage(m_pressPos), toImage(event->position())).normalized();
        update();
    } else if (m_panning) {
        m_offset += event->position() - m_lastPos;
        m_fit = false;
        update();
    }
    m_lastPos = event->position();
    updateHover(event->position());
}

void SliceCanvas::mouseReleaseEvent(QMouseEvent *event)
{
    if (m_selecting) {
        m_selecting = false;
        const QRect r = m_selection.toAlignedRect().intersected(m_image.rect());
        m_selection = QRectF();
        update();
        if (r.width() >= 4 && r.height() >= 4)
            Q_EMIT regionSelected(r);
        return;
    }
    if (m_panning) {
        m_panning = false;
        setCursor(m_regionMode ? Qt::CrossCursor : Qt::ArrowCursor);
        // A press and release without movement is a click on a slice.
        if ((event->position() - m_pressPos).manhattanLength() < 4) {
            const int index = sliceAt(toImage(event->position()));
            if (index >= -1)
                Q_EMIT sliceClicked(index);
        }
    }
}

void SliceCanvas::leaveEvent(QEvent *)
{
    if (m_hoveredWord != -1) {
        m_hoveredWord = -1;
        update();
    }
    if (m_hovered != -2) {
        m_hovered = -2;
        update();
        Q_EMIT sliceHovered(-2);
    }
}

void SliceCanvas::setTextLayer(std::shared_ptr<const TextLayer> layer)
{
    m_textLayer = std::move(layer);
    m_hoveredWord = -1;
    if (m_textVisible)
        update();
}

void SliceCanvas::setTextLayerVisible(bool visible)
{
    if (visible == m_textVisible)
        return;
    m_textVisible = visible;
    m_hoveredWord = -1;
    update();
}

int SliceCanvas::textWordAt(QPointF widgetPos) const
{
    if (!m_textVisible || !m_textLayer)
        return -1;
    const QPointF p = toImage(widgetPos);
    return m_textLayer->wordAt(static_cast<int>(std::floor(p.x())), static_cast<int>(std::floor(p.y())));
}

QPointF SliceCanvas::widgetPosOf(QPointF imagePos) const
{
    return toWidget(QRectF(imagePos, QSizeF(0, 0))).topLeft();
}

bool SliceCanvas::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int word = textWordAt(help->pos());
        if (word >= 0) {
            const TextWord &w = m_textLayer->words[size_t(word)];
            QToolTip::showText(
                help->globalPos(),
                tr("%1\nconfidence %2%").arg(QString::fromStdString(w.text)).arg(qRound(w.confidence)), this);
            return true;
        }
        QToolTip::hideText();
    }
    return QWidget::event(event);
}

void SliceCanvas::updateHover(QPointF widgetPos)
{
    if (m_textVisible) {
        const int word = textWordAt(widgetPos);
        if (word != m_hoveredWord) {
            m_hoveredWord = word;
            update();
        }
    }
    const int index = sliceAt(toImage(widgetPos));
    if (index != m_hovered) {
        m_hovered = index;
        update();
        Q_EMIT sliceHovered(index);
    }
}

void SliceCanvas::drawLabel(QPainter &painter, const QRectF &rect, const QString &text, bool highlighted) const
{
    QFont font = painter.font();
    font.setPointSizeF(std::max(7.0, font.pointSizeF() * 0.9));
    painter.setFont(font);
    const QFontMetricsF fm(font);
    const QSizeF box(fm.horizontalAdvance(text) + 10, fm.height() + 4);
    if (box.width() > rect.width() - 4 || box.height() > rect.height() - 4)
        return; // too small on screen to label legibly
    const QRectF r(rect.topLeft() + QPointF(4, 4), box);
    painter.setPen(Qt::NoPen);
    painter.setBrush(highlighted ? QColor(255, 190, 0, 230) : QColor(0, 0, 0, 170));
    painter.drawRoundedRect(r, 3, 3);
    painter.setPen(highlighted ? Qt::black : Qt::white);
    painter.drawText(r, Qt::AlignCenter, text);
}

void SliceCanvas::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Mid).darker(130));
    if (m_image.isNull()) {
        painter.setPen(palette().color(QPalette::BrightText));
        painter.drawText(rect().adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap,
                         tr("Drop images here, paste one with Ctrl+V, or open one with Ctrl+O.\n"
                            "UHD Lens shows how the model cuts each image into slices, what every slice looks like "
                            "to the model, and what it costs in tokens."));
        return;
    }
    const QRectF target = toWidget(QRectF(m_image.rect()));
    // Zoomed out: the cached preview is enough and far cheaper than scaling a huge pixmap on every paint.
    // Zoomed in beyond 2x: nearest neighbour so single pixels stay visible.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, m_zoom < 2.0);
    if (!m_preview.isNull() && m_zoom <= m_previewScale * 1.01)
        painter.drawPixmap(target, m_preview, QRectF(m_preview.rect()));
    else
    {
        const QPixmap &full = fullPixmap();
        painter.drawPixmap(target, full, QRectF(full.rect()));
    }
    painter.setRenderHint(QPainter::Antialiasing, true);

    if (m_region) {
        // Dim what lies outside the selected region.
        QPainterPath outside;
        outside.addRect(target);
        QPainterPath inside;
        inside.addRect(toWidget(QRectF(*m_region)));
        painter.fillPath(outside.subtracted(inside), QColor(0, 0, 0, 120));
        painter.setPen(QPen(QColor(255, 255, 255), 2, Qt::DashLine));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(toWidget(QRectF(*m_region)));
    }

    if (m_textVisible && m_textLayer) {
        // Word boxes: a light wash and a thin outline, the hovered word stronger; under the slice grid.
        painter.setPen(QPen(QColor(255, 140, 0, 200), 1));
        painter.setBrush(QColor(255, 220, 0, 50));
        for (size_t i = 0; i < m_textLayer->words.size(); ++i) {
            const Rect &b = m_textLayer->words[i].box;
            const QRectF r = toWidget(QRectF(b.x, b.y, b.width, b.height));
            if (int(i) == m_hoveredWord) {
                painter.save();
                painter.setBrush(QColor(255, 190, 0, 110));
                painter.setPen(QPen(QColor(255, 120, 0), 2));
                painter.drawRect(r);
                painter.restore();
            } else {
                painter.drawRect(r);
            }
        }
    }

    if (m_hasPlan && m_gridVisible) {
        const QList<QRect> rects = overlayRects();
        const std::optional<EncodedImage> sliceImage = m_plan.sliceImage();
        for (int i = 0; i < rects.size(); ++i) {
            const QRectF r = toWidget(QRectF(rects[i]));
            const bool hot = i == m_hovered;
            painter.setPen(QPen(hot ? QColor(255, 190, 0) : QColor(0, 200, 255), hot ? 3 : 2));
            painter.setBrush(hot ? QColor(255, 190, 0, 40) : QColor(0, 0, 0, 0));
            painter.drawRect(r);
            if (sliceImage) {
                const QString label = tr("#%1 · %2×%3 · %4×%5 patches")
                                          .arg(i + 1)
                                          .arg(sliceImage->size.width)
                                          .arg(sliceImage->size.height)
                                          .arg(sliceImage->patchCols)
                                          .arg(sliceImage->patchRows);
                drawLabel(painter, r, label, hot);
            }
        }
        if (rects.isEmpty()) {
            // Not sliced: the overview is the only view; outline the planned area.
            const QRect area = m_region ? *m_region : m_image.rect();
            const QRectF r = toWidget(QRectF(area));
            painter.setPen(QPen(QColor(0, 200, 255), 2));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(r);
            const EncodedImage ov = m_plan.overviewImage();
            drawLabel(painter, r,
                      (m_plan.padToSquare ? tr("one view %1×%2 (padded to a square)") : tr("one view %1×%2"))
                          .arg(ov.size.width)
                          .arg(ov.size.height),
                      m_hovered == -1);
        }

        // Overview thumbnail: the whole planned area squeezed to the overview's aspect, bottom-right corner.
        const EncodedImage ov = m_plan.overviewImage();
        if (ov.size.width > 0 && !rects.isEmpty()) {
            const double side = std::clamp(std::min(width(), height()) * 0.22, 80.0, 200.0);
            const double s = side / std::max(ov.size.width, ov.size.height);
            const QSizeF thumb(ov.size.width * s, ov.size.height * s);
            const QRectF box(QPointF(width() - thumb.width() - kMargin, height() - thumb.height() - kMargin - 18), thumb);
            const QRect src = m_region ? *m_region : m_image.rect();
            const QPixmap &pm = (!m_preview.isNull() && thumb.width() < m_preview.width()) ? m_preview : fullPixmap();
            const double ps = (&pm == &m_preview) ? m_previewScale : 1.0;
            painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
            painter.drawPixmap(box, pm, QRectF(src.x() * ps, src.y() * ps, src.width() * ps, src.height() * ps));
            painter.setPen(QPen(m_hovered == -1 ? QColor(255, 190, 0) : QColor(255, 255, 255), 2));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(box);
            const QString label = tr("overview %1×%2").arg(ov.size.width).arg(ov.size.height);
            const QRectF lr(box.left(), box.bottom() + 2, box.width(), 16);
            painter.fillRect(lr, QColor(0, 0, 0, 170));
            painter.setPen(Qt::white);
            painter.drawText(lr, Qt::AlignCenter, label);
        }
    }

    if (m_selecting) {
        painter.setPen(QPen(QColor(255, 255, 255), 1, Qt::DashLine));
        painter.setBrush(QColor(255, 255, 255, 50));
        painter.drawRect(toWidget(m_selection));
    }
}

} // namespace uhdlens::ui
