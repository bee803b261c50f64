// UHD Lens UI — the canvas: the original image with its slice plan drawn at true coordinates.
//
// Zoom with the wheel (around the cursor), fit, 1:1; pan by dragging. Each slice rectangle is
// SlicePlan::sliceInOriginal() (offset by the selected region, if any) and is labelled with its size at model
// input and its patch grid; the overview is shown as a thumbnail in a corner. Hovering a slice reports it
// (for "what the model sees"); in region mode a drag selects a rectangle of the image. When the text layer is
// shown, the recognised words' boxes are drawn over the image and hovering one shows its text as a tooltip.
#pragma once

#include "uhdlens/slice_planner.h"
#include "uhdlens/text_layer.h"

#include <QImage>
#include <QList>
#include <QPixmap>
#include <QPointF>
#include <QRect>
#include <QWidget>

#include <memory>
#include <optional>

namespace uhdlens::ui {

class SliceCanvas : public QWidget
{
    Q_OBJECT
public:
    explicit SliceCanvas(QWidget *parent = nullptr);

    // `origin` is where the planned area starts in the image (the selected region's top-left, else 0,0).
    // `preview`: an optional downscaled copy (long side <= 2048) made off-thread; without one, a huge image is
    // scaled here. The full-resolution pixmap is only made when zoomed in beyond the preview's resolution.
    void setImage(const QImage &image, const QImage &preview = {});
    void setPlan(const SlicePlan &plan, QPoint origin = {});
    void clearPlan();
    void setRegion(const std::optional<QRect> &region);
    void setRegionMode(bool on);
    bool regionMode() const { return m_regionMode; }
    void setGridVisible(bool visible);

    // The image's text layer (null: none yet) and whether its word boxes are drawn. setImage() drops the
    // layer.
    void setTextLayer(std::shared_ptr<const TextLayer> layer);
    const std::shared_ptr<const TextLayer> &textLayer() const { return m_textLayer; }
    void setTextLayerVisible(bool visible);
    bool textLayerVisible() const { return m_textVisible; }
    // Index of the word under widget position `pos` while the layer is shown, else -1 (what the tooltip
    // shows).
    int textWordAt(QPointF widgetPos) const;
    QPointF widgetPosOf(QPointF imagePos) const; // where an image pixel is drawn now (tests, hover)

    // The slice rectangles as drawn, in image coordinates (what tests compare with the planner).
    QList<QRect> overlayRects() const;
    const SlicePlan &plan() const { return m_plan; }
    bool hasPlan() const { return m_hasPlan; }
    double zoom() const { return m_zoom; }
    int hoveredSlice() const { return m_hovered; }

    QSize sizeHint() const override { return {800, 600}; }

public Q_SLOTS:
    void zoomIn();
    void zoomOut();
    void zoomToFit();
    void zoomActualSize();

Q_SIGNALS:
    // -1: the overview (no slice under the cursor but inside the image); -2: outside the image.
    void sliceHovered(int index);
    void sliceClicked(int index);
    void regionSelected(const QRect &imageRect);
    void zoomChanged(double zoom);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void changeEvent(QEvent *event) override;
    bool event(QEvent *event) override; // tooltips: the hovered word of the text layer

private:
    QPointF toImage(QPointF widgetPos) const;
    QRectF toWidget(const QRectF &imageRect) const;
    int sliceAt(QPointF imagePos) const;
    void setZoomAround(double zoom, QPointF widgetAnchor);
    void updateHover(QPointF widgetPos);
    void drawLabel(QPainter &painter, const QRectF &rect, const QString &text, bool highlighted) const;

    QImage m_image;
    const QPixmap &fullPixmap(); // made on first use
    QPixmap m_pixmap;       // full resolution, for zoom >= m_previewScale (lazy)
    QPixmap m_preview;      // at most ~2048 px on the long side, for zoomed-out painting of huge images
    double m_previewScale = 1.0;
    SlicePlan m_plan;
    bool m_hasPlan = false;
    QPoint m_origin;
    std::optional<QRect> m_region;
    bool m_regionMode = false;
    bool m_gridVisible = true;
    std::shared_ptr<const TextLayer> m_textLayer;
    bool m_textVisible = false;
    int m_hoveredWord = -1;

    double m_zoom = 1.0;
    bool m_fit = true;
    QPointF m_offset;       // widget position of image pixel (0,0)
    int m_hovered = -2;

    bool m_panning = false;
    bool m_selecting = false;
    QPointF m_pressPos;
    QPointF m_lastPos;
    QRectF m_selection;     // image coordinates while dragging a region
};

} // namespace uhdlens::ui
