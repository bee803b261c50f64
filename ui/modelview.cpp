#include "modelview.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace uhdlens::ui {

namespace {

// The mean colour LLaVA-1.5 pads with (expand2square fills with the image mean).
QColor meanColour(const QImage &image)
{
    const QImage small = image.scaled(64, 64, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    double r = 0, g = 0, b = 0;
    const int n = small.width() * small.height();
    for (int y = 0; y < small.height(); ++y) {
        for (int x = 0; x < small.width(); ++x) {
            const QRgb p = small.pixel(x, y);
            r += qRed(p);
            g += qGreen(p);
            b += qBlue(p);
        }
    }
    return n > 0 ? QColor(int(r / n), int(g / n), int(b / n)) : QColor(Qt::black);
}

} // namespace

QImage modelInputImage(const QImage &subject, const SlicePlan &plan, int index)
{
    if (subject.isNull() || plan.overview.width <= 0)
        return {};
    if (index < 0) {
        const QSize target(plan.overview.width, plan.overview.height);
        if (plan.padToSquare) {
            const int side = std::max(subject.width(), subject.height());
            QImage square(side, side, QImage::Format_RGB888);
            square.fill(meanColour(subject));
            QPainter p(&square);
            p.drawImage((side - subject.width()) / 2, (side - subject.height()) / 2, subject);
            p.end();
            return square.scaled(target, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        }
        return subject.scaled(target, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    }
    if (index >= plan.sliceCount() || !plan.slice)
        return {};
    // Cropping the original at the slice's true rectangle and resizing it to the slice size gives the same view
    // as resizing the whole image to the refined size and cutting (up to edge resampling), at a fraction of the
    // cost for huge images.
    const Rect r = plan.sliceInOriginal(index);
    const QImage crop = subject.copy(r.x, r.y, r.width, r.height);
    return crop.scaled(QSize(plan.slice->width, plan.slice->height), Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
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

quint64 ModelViewRenderer::request(const QImage &subject, const SlicePlan &plan)
{
    Job job{++m_generation, subject, plan};
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
            view = renderModelView(job.subject, job.plan);
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
