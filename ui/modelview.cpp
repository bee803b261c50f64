#include "modelview.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace uhdlens::ui {

RgbColour previewPadColour(const std::optional<ModelInfo> &model)
{
    return model ? model->padColour : kClipMeanColour;
}

ModelViewRenderer::ModelViewRenderer(QObject *parent) : QObject(parent)
{
    qRegisterMetaType<uhdlens::ModelView>();
    m_pool.setMaxThreadCount(1);
}

ModelViewRenderer::~ModelViewRenderer()
{
    m_pool.waitForDone();
}

quint64 ModelViewRenderer::request(const QImage &subject, const SlicePlan &plan, RgbColour padColour)
{
    Job job{++m_generation, subject, plan, padColour};
    if (m_busy)
        m_waiting = std::move(job);
    else
        start(std::move(job));
    return m_generation;
}

void ModelViewRenderer::start(Job job)
{
    m_busy = true;
    m_pool.start([this, job] {
        ModelView view;
        QString error;
        try {
            view = renderModelView(job.subject, job.plan, job.padColour);
        } catch (const std::exception &e) {
            error = QString::fromUtf8(e.what());
        }
        // Back on the renderer's thread; the destructor waits for this task, so `this` is alive.
        QMetaObject::invokeMethod(
            this,
            [this, generation = job.generation, view, error] {
                m_busy = false;
                if (error.isEmpty())
                    Q_EMIT rendered(generation, view);
                else
                    Q_EMIT failed(generation, error);
                if (m_waiting) {
                    Job next = std::move(*m_waiting);
                    m_waiting.reset();
                    start(std::move(next));
                }
            },
            Qt::QueuedConnection);
    });
}

PixelView::PixelView(QWidget *parent) : QWidget(parent)
{
    setMinimumSize(160, 160);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void PixelView::setImage(const QImage &image)
{
    m_image = image;
    update();
}

void PixelView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    if (m_image.isNull())
        return;
    const double s = std::min(double(width()) / m_image.width(), double(height()) / m_image.height());
    // Whole multiples when enlarging, so every model pixel is the same number of screen pixels.
    const double scale = s >= 1.0 ? std::floor(s) : s;
    const QSizeF size(m_image.width() * scale, m_image.height() * scale);
    const QRectF target(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false); // nearest neighbour: the model's pixels
    painter.drawImage(target, m_image);
}

} // namespace uhdlens::ui
