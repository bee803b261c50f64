// UHD Lens UI — "what the model sees": an encoded image (overview or slice) at model input resolution.
#pragma once

#include "uhdlens/engine.h"
#include "uhdlens/preprocess.h"
#include "uhdlens/slice_planner.h"

#include <QImage>
#include <QThreadPool>
#include <QWidget>

#include <optional>

namespace uhdlens::ui {

// Renders the exact encoder inputs (uhdlens::renderModelView: Pillow-exact 8-bit BICUBIC, as the engine
// feeds the model) off the GUI thread. Requests coalesce: while one renders, only the latest waiting request
// is kept, so dragging the max-slices slider never queues up work. rendered() carries the request's
// generation.
class ModelViewRenderer : public QObject
{
    Q_OBJECT
public:
    explicit ModelViewRenderer(QObject *parent = nullptr);
    ~ModelViewRenderer() override;
    // Returns the generation of this request; a later request makes earlier results stale.
    // `padColour` fills a pad-to-square (llava15) view: previewPadColour().
    quint64 request(const QImage &subject, const SlicePlan &plan, RgbColour padColour);
    quint64 latest() const { return m_generation; }

Q_SIGNALS:
    void rendered(quint64 generation, const uhdlens::ModelView &view);
    void failed(quint64 generation, const QString &message);

private:
    struct Job
    {
        quint64 generation = 0;
        QImage subject;
        SlicePlan plan;
        RgbColour padColour;
    };
    void start(Job job);

    QThreadPool m_pool;
    quint64 m_generation = 0;
    bool m_busy = false;
    std::optional<Job> m_waiting;
};

// The colour a pad-to-square (llava15) view is filled with in both previews — the exact one (renderModelView)
// and the quick one (uhdlens::quickModelInput): the loaded model's own (ModelInfo::padColour, what the engine
// pads with), else LLaVA-1.5's CLIP mean colour.
RgbColour previewPadColour(const std::optional<ModelInfo> &model);

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

Q_DECLARE_METATYPE(uhdlens::ModelView)
