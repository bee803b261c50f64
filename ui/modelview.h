// UHD Lens UI — "what the model sees": an encoded image (overview or slice) at model input resolution.
#pragma once

#include "uhdlens/slice_planner.h"

#include <QImage>
#include <QWidget>

namespace uhdlens::ui {

// The pixels of encoded image `index` (-1: the overview, 0..n-1: slice) of `plan`, made from `subject` (the
// planned image or region, Format_RGB888) at exactly the size the encoder receives, before normalisation.
// Returns a null image for an index the plan does not have.
QImage modelInputImage(const QImage &subject, const SlicePlan &plan, int index);

// Paints an image scaled to fit with nearest-neighbour sampling, so the model's pixels stay visible as blocks.
class PixelView : public QWidget
{
    Q_OBJECT
public:
    explicit PixelView(QWidget *parent = nullptr);
    void setImage(const QImage &image);
    const QImage &image() const { return m_image; }
    QSize sizeHint() const override { return {280, 220}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QImage m_image;
};

} // namespace uhdlens::ui
