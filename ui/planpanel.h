// UHD Lens UI — the plan panel: policy, max slices (re-plans live), token budget, compute, legibility, and
// "what the model sees" for the hovered or clicked slice.
#pragma once

#include "uhdlens/slice_planner.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QLabel;
class QSlider;
class QSpinBox;
class QGroupBox;
class QProgressBar;

namespace uhdlens::ui {

class PixelView;

class PlanPanel : public QWidget
{
    Q_OBJECT
public:
    explicit PlanPanel(QWidget *parent = nullptr);

    QString policyName() const;            // "minicpmv" | "llava-uhd" | "llava15"
    void setPolicyName(const QString &name);
    int maxSlices() const;
    void setMaxSlices(int n);
    // The loaded model's own slicing (nullopt: none loaded): the policy entry of its kind then names the model's
    // slice size and budget (the bundled model cuts 224 px slices, not the LLaVA-UHD release's 336), and
    // choosing that entry starts from the model's budget.
    void setModelPolicy(const std::optional<SlicePolicy> &policy);

    // Shows the figures of `plan`. `layout` decides the token count; `contextLength` 0 means no model.
    void showPlan(const SlicePlan &plan, TokenLayout layout, int contextLength);
    void showNoImage();
    // "What the model sees": `index` -1 the overview, else a slice (0-based).
    void showModelView(const QImage &image, int index, const SlicePlan &plan);

    // For tests: the text of the figures shown.
    QString tokensText() const;
    QString legibilityText() const;
    QString flopsText() const;

    // The legibility threshold in original-image pixels for a downscale factor: ~6 px at the encoder.
    static int legibleTextPixels(double downscaleFactor);

Q_SIGNALS:
    void policyChanged(); // policy or max slices changed by the user

protected:
    void changeEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void retranslateUi();
    SlicePolicy policyFor(const QString &name) const; // the named policy, the model's where the kinds match
    void fitLabelHeights();
    void updateFigures();

    QGroupBox *m_settingsBox = nullptr;
    QLabel *m_policyLabel = nullptr;
    QComboBox *m_policy = nullptr;
    QLabel *m_maxSlicesLabel = nullptr;
    QSlider *m_slider = nullptr;
    QSpinBox *m_spin = nullptr;
    QGroupBox *m_figuresBox = nullptr;
    QLabel *m_grid = nullptr;
    QLabel *m_tokens = nullptr;
    QProgressBar *m_contextBar = nullptr;
    QLabel *m_context = nullptr;
    QLabel *m_flops = nullptr;
    QLabel *m_downscale = nullptr;
    QLabel *m_legibility = nullptr;
    QGroupBox *m_viewBox = nullptr;
    QLabel *m_viewCaption = nullptr;
    PixelView *m_view = nullptr;
    std::optional<SlicePolicy> m_modelPolicy;

    std::optional<SlicePlan> m_plan;
    TokenLayout m_layout = TokenLayout::MiniCpmV2;
    int m_contextLength = 0;
    int m_viewIndex = -1;
};

} // namespace uhdlens::ui
