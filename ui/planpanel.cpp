#include "planpanel.h"

#include "modelview.h"

#include "uhdlens/flops.h"
#include "uhdlens/model_facts.h"

#include <QComboBox>
#include <QEvent>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QResizeEvent>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace uhdlens::ui {

namespace {
constexpr int kMaxSlicesLimit = 36;
} // namespace

int PlanPanel::legibleTextPixels(double downscaleFactor)
{
    return static_cast<int>(std::ceil(kLegibleViewPixels * std::max(1.0, downscaleFactor)));
}

PlanPanel::PlanPanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);

    m_settingsBox = new QGroupBox(this);
    auto *form = new QFormLayout(m_settingsBox);
    m_policy = new QComboBox(m_settingsBox);
    m_policy->setObjectName(QStringLiteral("policyCombo"));
    for (const char *name : {"minicpmv", "llava-uhd", "llava15"})
        m_policy->addItem(QString(), QString::fromLatin1(name));
    m_policyLabel = new QLabel(m_settingsBox);
    m_policyLabel->setBuddy(m_policy);
    form->addRow(m_policyLabel, m_policy);

    auto *sliderRow = new QHBoxLayout;
    m_slider = new QSlider(Qt::Horizontal, m_settingsBox);
    m_slider->setObjectName(QStringLiteral("maxSlicesSlider"));
    m_slider->setRange(1, kMaxSlicesLimit);
    m_spin = new QSpinBox(m_settingsBox);
    m_spin->setObjectName(QStringLiteral("maxSlicesSpin"));
    m_spin->setRange(1, kMaxSlicesLimit);
    sliderRow->addWidget(m_slider, 1);
    sliderRow->addWidget(m_spin);
    m_maxSlicesLabel = new QLabel(m_settingsBox);
    m_maxSlicesLabel->setBuddy(m_spin);
    form->addRow(m_maxSlicesLabel, sliderRow);
    layout->addWidget(m_settingsBox);

    m_figuresBox = new QGroupBox(this);
    auto *figures = new QVBoxLayout(m_figuresBox);
    for (QLabel **label : {&m_grid, &m_tokens, &m_context, &m_flops, &m_downscale, &m_legibility}) {
        *label = new QLabel(m_figuresBox);
        (*label)->setWordWrap(true);
        (*label)->setTextInteractionFlags(Qt::TextSelectableByMouse);
    }
    m_tokens->setObjectName(QStringLiteral("tokensLabel"));
    m_legibility->setObjectName(QStringLiteral("legibilityLabel"));
    m_flops->setObjectName(QStringLiteral("flopsLabel"));
    m_contextBar = new QProgressBar(m_figuresBox);
    m_contextBar->setRange(0, 1000);
    m_contextBar->setTextVisible(false);
    m_contextBar->setMaximumHeight(8);
    figures->addWidget(m_grid);
    figures->addWidget(m_tokens);
    figures->addWidget(m_contextBar);
    figures->addWidget(m_context);
    figures->addWidget(m_flops);
    figures->addWidget(m_downscale);
    figures->addWidget(m_legibility);
    layout->addWidget(m_figuresBox);

    m_viewBox = new QGroupBox(this);
    auto *view = new QVBoxLayout(m_viewBox);
    m_viewCaption = new QLabel(m_viewBox);
    m_viewCaption->setWordWrap(true);
    m_view = new PixelView(m_viewBox);
    m_view->setObjectName(QStringLiteral("modelView"));
    view->addWidget(m_viewCaption);
    view->addWidget(m_view, 1);
    layout->addWidget(m_viewBox, 1);

    connect(m_slider, &QSlider::valueChanged, this, [this](int v) {
        if (m_spin->value() != v) {
            QSignalBlocker block(m_spin);
            m_spin->setValue(v);
        }
        Q_EMIT policyChanged();
    });
    connect(m_spin, &QSpinBox::valueChanged, this, [this](int v) {
        if (m_slider->value() != v)
            m_slider->setValue(v); // emits policyChanged through the slider
    });
    connect(m_policy, &QComboBox::currentIndexChanged, this, [this](int) {
        // Each policy brings its own default budget (9 for MiniCPM-V, 7 for the LLaVA-UHD release).
        if (const SlicePolicy p = policyFor(policyName()); p.kind != PolicyKind::Llava15) {
            QSignalBlocker block(m_slider);
            QSignalBlocker blockSpin(m_spin);
            m_slider->setValue(p.maxSlices);
            m_spin->setValue(p.maxSlices);
        }
        m_slider->setEnabled(policyName() != QLatin1String("llava15"));
        m_spin->setEnabled(m_slider->isEnabled());
        Q_EMIT policyChanged();
    });
    {
        QSignalBlocker b1(m_slider), b2(m_spin);
        m_slider->setValue(9);
        m_spin->setValue(9);
    }
    retranslateUi();
    showNoImage();
}

QString PlanPanel::policyName() const
{
    return m_policy->currentData().toString();
}

void PlanPanel::setPolicyName(const QString &name)
{
    const int index = m_policy->findData(name);
    if (index >= 0)
        m_policy->setCurrentIndex(index);
}

SlicePolicy PlanPanel::policyFor(const QString &name) const
{
    SlicePolicy p = SlicePolicy::fromName(name.toStdString()).value_or(SlicePolicy::minicpmv());
    if (m_modelPolicy && m_modelPolicy->kind == p.kind)
        p = *m_modelPolicy;
    return p;
}

void PlanPanel::setModelPolicy(const std::optional<SlicePolicy> &policy)
{
    m_modelPolicy = policy;
    retranslateUi();
}

int PlanPanel::maxSlices() const
{
    return m_spin->value();
}

void PlanPanel::setMaxSlices(int n)
{
    m_slider->setValue(std::clamp(n, 1, kMaxSlicesLimit));
}

void PlanPanel::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    fitLabelHeights();
}

void PlanPanel::fitLabelHeights()
{
    // Word-wrapped labels do not pass their height-for-width up through the dock's layout, so a narrow dock
    // would squeeze them to one clipped line; pin each to the height its text needs at its current width.
    for (QLabel *label : {m_grid, m_tokens, m_context, m_flops, m_downscale, m_legibility, m_viewCaption}) {
        const int w = label->width() > 0 ? label->width() : 300;
        label->setMinimumHeight(label->text().isEmpty() ? 0 : label->heightForWidth(w));
    }
}

void PlanPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void PlanPanel::retranslateUi()
{
    m_settingsBox->setTitle(tr("Slicing"));
    m_policyLabel->setText(tr("&Policy:"));
    for (int i = 0; i < m_policy->count(); ++i) {
        const SlicePolicy p = policyFor(m_policy->itemData(i).toString());
        QString text;
        switch (p.kind) {
        case PolicyKind::MiniCpmV:
            text = tr("MiniCPM-V (%1 px slices, up to %2)").arg(p.scale).arg(p.maxSlices);
            break;
        case PolicyKind::LlavaUhd:
            text = tr("LLaVA-UHD (%1 px slices, up to %2)").arg(p.scale).arg(p.maxSlices);
            break;
        case PolicyKind::Llava15:
            text = tr("LLaVA-1.5 baseline (one %1 px view)").arg(p.scale);
            break;
        }
        m_policy->setItemText(i, text);
    }
    m_policy->setToolTip(tr("How the image is cut into slices before the vision encoder sees it."));
    m_maxSlicesLabel->setText(tr("&Max slices:"));
    m_slider->setToolTip(tr("The most slices the planner may use; the plan updates as you move it."));
    m_figuresBox->setTitle(tr("Cost and legibility"));
    m_viewBox->setTitle(tr("What the model sees"));
    updateFigures();
}

void PlanPanel::showNoImage()
{
    m_plan.reset();
    updateFigures();
    m_view->setImage({});
    m_viewCaption->setText(tr("Open an image to see its plan."));
}

void PlanPanel::showPlan(const SlicePlan &plan, TokenLayout layout, int contextLength)
{
    m_plan = plan;
    m_layout = layout;
    m_contextLength = contextLength;
    updateFigures();
}

void PlanPanel::showModelView(const QImage &image, int index, const SlicePlan &plan)
{
    m_viewIndex = index;
    m_view->setImage(image);
    if (image.isNull()) {
        m_viewCaption->setText(tr("Hover over a slice to see it at model input resolution."));
        return;
    }
    const EncodedImage enc = index < 0 ? plan.overviewImage() : plan.sliceImage().value_or(plan.overviewImage());
    const QString what = index < 0 ? tr("Overview") : tr("Slice %1 of %2").arg(index + 1).arg(plan.sliceCount());
    m_viewCaption->setText(tr("%1: %2×%3 pixels, %4×%5 patches of %6 px (nearest-neighbour zoom)")
                               .arg(what)
                               .arg(enc.size.width)
                               .arg(enc.size.height)
                               .arg(enc.patchCols)
                               .arg(enc.patchRows)
                               .arg(plan.policy.patch));
    fitLabelHeights();
}

QString PlanPanel::tokensText() const
{
    return m_tokens->text();
}

QString PlanPanel::legibilityText() const
{
    return m_legibility->text();
}

QString PlanPanel::flopsText() const
{
    return m_flops->text();
}

void PlanPanel::updateFigures()
{
    if (!m_plan || m_plan->overview.width <= 0) {
        m_grid->setText(tr("No image."));
        m_tokens->clear();
        m_context->clear();
        m_flops->clear();
        m_downscale->clear();
        m_legibility->clear();
        m_contextBar->setValue(0);
        return;
    }
    const SlicePlan &plan = *m_plan;
    if (plan.grid && plan.slice) {
        m_grid->setText(tr("%1 × %2 slices of %3×%4 + overview %5×%6 (image %7×%8)")
                            .arg(plan.grid->cols)
                            .arg(plan.grid->rows)
                            .arg(plan.slice->width)
                            .arg(plan.slice->height)
                            .arg(plan.overview.width)
                            .arg(plan.overview.height)
                            .arg(plan.input.width)
                            .arg(plan.input.height));
    } else {
        m_grid->setText(tr("Not sliced: one view of %1×%2 (image %3×%4)")
                            .arg(plan.overview.width)
                            .arg(plan.overview.height)
                            .arg(plan.input.width)
                            .arg(plan.input.height));
    }

    const int tokens = imagePositions(plan, m_layout);
    const SlicePlan baseline = planSlices(plan.input, SlicePolicy::llava15());
    const int baselineTokens = imagePositions(baseline, TokenLayout::Llava15);
    m_tokens->setText(tr("Visual tokens: <b>%1</b> for this plan · %2 for LLaVA-1.5 (one squashed 336×336 view)")
                          .arg(tokens)
                          .arg(baselineTokens));
    if (m_contextLength > 0) {
        const double share = double(tokens) / m_contextLength;
        m_contextBar->setValue(static_cast<int>(std::min(1.0, share) * 1000));
        m_context->setText(tr("%1% of the model's %2-token context").arg(share * 100.0, 0, 'f', 1).arg(m_contextLength));
    } else {
        m_contextBar->setValue(0);
        m_context->setText(tr("Load a model to see the share of its context."));
    }

    // Compute relative to LLaVA-1.5-13B on its single 336x336 view, with the architecture the policy belongs to.
    if (plan.policy.kind == PolicyKind::Llava15) {
        m_flops->setText(tr("Compute: 1.00× LLaVA-1.5 (this is the baseline)"));
    } else {
        const bool minicpm = plan.policy.kind == PolicyKind::MiniCpmV;
        const Architecture arch = minicpm ? Architecture::minicpmV2() : Architecture::llavaUhdPaper13B();
        const double base = estimateFlops(Architecture::llava15_13B(), baseline).total();
        const double mine = estimateFlops(arch, plan).total();
        if (base > 0)
            m_flops->setText(tr("Compute: %1× LLaVA-1.5-13B (%2 architecture, vision + prefill)")
                                 .arg(mine / base, 0, 'f', 2)
                                 .arg(minicpm ? tr("MiniCPM-V 2.0") : tr("LLaVA-UHD 13B")));
        else
            m_flops->clear();
    }

    const double factor = plan.downscaleFactor();
    if (factor > 1.0) {
        m_downscale->setText(tr("Downscale: %1× (the encoder gets one pixel for every %1 pixels of the image)")
                                 .arg(factor, 0, 'f', 2));
        m_legibility->setText(
            tr("Text smaller than ~%1 px will be unreadable; allow more slices or select a region.")
                .arg(legibleTextPixels(factor)));
    } else {
        m_downscale->setText(tr("Not downscaled: the encoder sees every pixel (upscale %1×).")
                                 .arg(1.0 / factor, 0, 'f', 2));
        m_legibility->setText(tr("Text of ~%1 px and larger should be readable.").arg(legibleTextPixels(factor)));
    }
    fitLabelHeights();
}

} // namespace uhdlens::ui
