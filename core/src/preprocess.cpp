#include "preprocess.h"

#include "pillow_resample.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace uhdlens {

namespace {

std::string sizeText(Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

void checkPlan(const QImage &rgb, const SlicePlan &plan)
{
    if (rgb.isNull())
        throw Error(ErrorCode::InvalidArgument, "preprocess: the image is empty");
    const Size actual{rgb.width(), rgb.height()};
    if (plan.input != actual)
        throw Error(ErrorCode::InvalidArgument, "preprocess: the plan is for a " + sizeText(plan.input) +
                                                    " image but the image is " + sizeText(actual));
    if (plan.overview.width <= 0 || plan.overview.height <= 0)
        throw Error(ErrorCode::InvalidArgument, "preprocess: the plan has no overview (invalid size or policy)");
    if (plan.grid && (!plan.refine || !plan.slice || plan.slices.empty()))
        throw Error(ErrorCode::InvalidArgument, "preprocess: a sliced plan needs refine and slice sizes");
}

// The image as RGB888 without copying when it already is (planning and decoding already produce RGB888).
QImage asRgb888(const QImage &image)
{
    if (image.format() == QImage::Format_RGB888)
        return image;
    ImageLimits unlimited;
    unlimited.maxPixels = std::numeric_limits<std::int64_t>::max(); // the caller already holds the pixels
    return toRgb888(image, unlimited);
}

} // namespace

RgbColour padColourForMean(const float mean[3])
{
    // int(x*255) in Python: truncation toward zero, on the double product.
    auto channel = [](float m) {
        const double v = static_cast<double>(m) * 255.0;
        return static_cast<std::uint8_t>(std::clamp(static_cast<int>(v), 0, 255));
    };
    return {channel(mean[0]), channel(mean[1]), channel(mean[2])};
}

namespace preprocess {

torch::Tensor imageToTensor(const QImage &rgb888)
{
    TORCH_CHECK(rgb888.format() == QImage::Format_RGB888, "imageToTensor needs Format_RGB888");
    const int64_t h = rgb888.height(), w = rgb888.width();
    // A strided view of QImage's rows (each padded to 4 bytes), converted to float in one vectorised pass into
    // a fresh [H, W, 3] tensor; returned as a [1, 3, H, W] view, i.e. channels-last. Keeping QImage's interleaved
    // order avoids a transposing copy (measured ~2x slower than the plain conversion). The QImage is not
    // referenced afterwards. (The preprocessing resize does not come through here: resizeImage reads the
    // QImage's bytes itself.)
    const auto u8 = torch::from_blob(const_cast<uchar *>(rgb888.constBits()), {h, w, 3},
                                     {static_cast<int64_t>(rgb888.bytesPerLine()), 3, 1}, torch::kUInt8);
    auto hwc = torch::empty({h, w, 3}, torch::kFloat32);
    hwc.copy_(u8);
    return hwc.permute({2, 0, 1}).unsqueeze(0);
}

QImage tensorToImage(const torch::Tensor &pixels)
{
    torch::Tensor t = pixels.dim() == 4 ? pixels.squeeze(0) : pixels;
    TORCH_CHECK(t.dim() == 3 && t.size(0) == 3, "tensorToImage needs [3, H, W] or [1, 3, H, W]");
    if (t.scalar_type() != torch::kUInt8)
        t = t.to(torch::kFloat32).round().clamp(0, 255).to(torch::kUInt8);
    const auto hwc = t.permute({1, 2, 0}).contiguous().cpu();
    const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1));
    QImage out(w, h, QImage::Format_RGB888);
    const auto *src = hwc.data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y)
        std::memcpy(out.scanLine(y), src + static_cast<size_t>(y) * w * 3, static_cast<size_t>(w) * 3);
    return out;
}

namespace {

void checkTargetSize(Size size)
{
    if (size.width <= 0 || size.height <= 0)
        throw Error(ErrorCode::InvalidArgument,
                    "resizeBicubic: the target size " + sizeText(size) + " is empty");
}

} // namespace

torch::Tensor resizeImage(const QImage &rgb888, Size size)
{
    if (rgb888.isNull())
        throw Error(ErrorCode::InvalidArgument, "resizeImage: the image is empty");
    if (rgb888.format() != QImage::Format_RGB888)
        throw Error(ErrorCode::InvalidArgument, "resizeImage: the image is not Format_RGB888");
    checkTargetSize(size);
    // Pillow's 8-bit resampler straight from QImage's rows into planar uint8 [3, h, w], then one conversion
    // to float of the (smaller) result: the original is never converted to float, and the result is
    // contiguous NCHW, which the slice crop copies fastest (a channels-last result made the crop ~6x slower).
    auto chw = torch::empty({3, size.height, size.width}, torch::kUInt8);
    const std::ptrdiff_t plane = std::ptrdiff_t{size.width} * size.height;
    pillow::resizeBicubic(
        pillow::ConstView8{rgb888.constBits(), rgb888.width(), rgb888.height(), 3, rgb888.bytesPerLine()},
        pillow::View8{chw.data_ptr<std::uint8_t>(), size.width, size.height, 3, size.width, plane});
    return chw.to(torch::kFloat32).unsqueeze(0);
}

torch::Tensor resizeBicubic(const torch::Tensor &pixels, Size size)
{
    TORCH_CHECK(pixels.dim() == 4, "resizeBicubic needs [B, C, H, W]");
    checkTargetSize(size);
    if (pixels.size(2) == 0 || pixels.size(3) == 0 || pixels.size(0) == 0)
        throw Error(ErrorCode::InvalidArgument, "resizeBicubic: the image is empty");
    if (pixels.size(1) < 1 || pixels.size(1) > 4)
        throw Error(ErrorCode::InvalidArgument,
                    "resizeBicubic: 1 to 4 channels, not " + std::to_string(pixels.size(1)));
    if (pixels.size(2) == size.height && pixels.size(3) == size.width)
        return pixels;
    // The input is an 8-bit image held as float: back to interleaved uint8 [B, H, W, C] for the resampler.
    const auto u8 = pixels.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
    const int64_t b = pixels.size(0), c = pixels.size(1);
    const int h = static_cast<int>(pixels.size(2)), w = static_cast<int>(pixels.size(3));
    auto out = torch::empty({b, c, size.height, size.width}, torch::kUInt8);
    const std::ptrdiff_t plane = std::ptrdiff_t{size.width} * size.height;
    for (int64_t i = 0; i < b; ++i)
        pillow::resizeBicubic(
            pillow::ConstView8{u8[i].data_ptr<std::uint8_t>(), w, h, static_cast<int>(c), w * c},
            pillow::View8{out[i].data_ptr<std::uint8_t>(), size.width, size.height, static_cast<int>(c),
                          size.width, plane});
    return out.to(torch::kFloat32);
}

torch::Tensor padToSquare(const torch::Tensor &pixels, RgbColour colour)
{
    TORCH_CHECK(pixels.dim() == 4 && pixels.size(0) == 1 && pixels.size(1) == 3, "padToSquare needs [1, 3, H, W]");
    const int64_t h = pixels.size(2), w = pixels.size(3);
    if (h == w)
        return pixels;
    const int64_t side = std::max(h, w);
    auto out = torch::empty({1, 3, side, side}, pixels.options());
    out[0][0].fill_(colour.r);
    out[0][1].fill_(colour.g);
    out[0][2].fill_(colour.b);
    // expand2square pastes at ((side - w) // 2, (side - h) // 2); one of the two offsets is 0.
    out.narrow(2, (side - h) / 2, h).narrow(3, (side - w) / 2, w).copy_(pixels);
    return out;
}

namespace {

// [rows, cols, C, ch, cw] views of the refined image for a plan whose slices tile it (checked by the caller).
torch::Tensor sliceViews(const torch::Tensor &refined, const SlicePlan &plan)
{
    return refined[0]
        .unflatten(1, {plan.grid->rows, plan.slice->height})
        .unflatten(3, {plan.grid->cols, plan.slice->width})
        .permute({1, 3, 0, 2, 4});
}

bool slicesTile(const SlicePlan &plan)
{
    const int cols = plan.grid->cols, rows = plan.grid->rows, cw = plan.slice->width, ch = plan.slice->height;
    if (cols * rows != plan.sliceCount() || cols * cw != plan.refine->width || rows * ch != plan.refine->height)
        return false;
    for (int i = 0; i < plan.sliceCount(); ++i)
        if (plan.slices[static_cast<size_t>(i)] != Rect{(i % cols) * cw, (i / cols) * ch, cw, ch})
            return false;
    return true;
}

} // namespace

torch::Tensor cropSlices(const torch::Tensor &refined, const SlicePlan &plan)
{
    TORCH_CHECK(plan.grid && plan.refine && plan.slice && !plan.slices.empty(), "cropSlices needs a sliced plan");
    TORCH_CHECK(refined.dim() == 4 && refined.size(0) == 1 && refined.size(2) == plan.refine->height &&
                    refined.size(3) == plan.refine->width,
                "cropSlices: the refined image is not the plan's refine size");
    const int64_t cols = plan.grid->cols, rows = plan.grid->rows;
    const int64_t cw = plan.slice->width, ch = plan.slice->height;
    const int64_t channels = refined.size(1);

    if (slicesTile(plan)) {
        // [1, C, rows*ch, cols*cw] -> [rows, cols, C, ch, cw]: every slice is a view (splitting a dimension is
        // always a view, whatever the memory format); one copy gathers them into a contiguous row-major batch.
        auto out = torch::empty({rows * cols, channels, ch, cw}, refined.options());
        out.view({rows, cols, channels, ch, cw}).copy_(sliceViews(refined, plan));
        return out;
    }
    // General rectangles (not produced by the planner, kept for custom plans): crop each, stack same sizes.
    std::vector<torch::Tensor> crops;
    for (const Rect &r : plan.slices) {
        TORCH_CHECK(r.x >= 0 && r.y >= 0 && r.width == cw && r.height == ch && r.x + r.width <= refined.size(3) &&
                        r.y + r.height <= refined.size(2),
                    "cropSlices: slice rectangle outside the refined image or of a different size");
        crops.push_back(refined[0].narrow(1, r.y, r.height).narrow(2, r.x, r.width));
    }
    return torch::stack(crops);
}

torch::Tensor normalize(const torch::Tensor &pixels, const PixelNorm &norm, torch::Dtype dtype)
{
    TORCH_CHECK(pixels.dim() >= 3 && pixels.size(-3) == 3, "normalize needs [..., 3, H, W]");
    // (x/255 - mean)/std as one multiply-add per element: x * 1/(255 std) + (-mean/std). Differs from the
    // three-step float32 formula of the references by at most a couple of float32 ulps.
    float scale[3], bias[3];
    for (int c = 0; c < 3; ++c) {
        scale[c] = static_cast<float>(1.0 / (255.0 * norm.std[c]));
        bias[c] = static_cast<float>(-static_cast<double>(norm.mean[c]) / norm.std[c]);
    }
    const auto a = torch::from_blob(scale, {3, 1, 1}, torch::kFloat32).clone();
    const auto b = torch::from_blob(bias, {3, 1, 1}, torch::kFloat32).clone();
    auto out = torch::empty(pixels.sizes(), torch::kFloat32); // contiguous, whatever the input's strides
    torch::addcmul_out(out, b, pixels.to(torch::kFloat32), a);
    return dtype == torch::kFloat32 ? out : out.to(dtype);
}

namespace {

// Overview and refined image (uncropped), both resized from the original, not one from the other, as the
// references do.
Pixels resizedPixels(const QImage &rgb, const SlicePlan &plan, RgbColour padColour)
{
    checkPlan(rgb, plan);
    QImage original = asRgb888(rgb);
    if (plan.padToSquare)
        original = uhdlens::padToSquare(original, padColour);
    Pixels px;
    px.overview = resizeImage(original, plan.overview);
    if (plan.grid)
        px.slices = resizeImage(original, *plan.refine);
    return px;
}

} // namespace

Pixels modelPixels(const QImage &rgb, const SlicePlan &plan, RgbColour padColour)
{
    Pixels px = resizedPixels(rgb, plan, padColour);
    if (px.slices.defined())
        px.slices = cropSlices(px.slices, plan);
    return px;
}

} // namespace preprocess

PreparedImages prepareImages(const QImage &rgb, const SlicePlan &plan, const PreprocessOptions &options)
{
    torch::InferenceMode guard;
    const auto px = preprocess::resizedPixels(rgb, plan, padColourForMean(options.norm.mean));
    PreparedImages out;
    out.overview = preprocess::normalize(px.overview, options.norm, options.dtype).to(options.device);
    if (px.slices.defined()) {
        // Crop and normalise in one pass: normalise reads the slice views of the refined image and writes the
        // contiguous [rows, cols, 3, h, w] batch, which is already [N, 3, h, w] row-major.
        const bool tiles = preprocess::slicesTile(plan);
        const auto slices = tiles ? preprocess::sliceViews(px.slices, plan) : preprocess::cropSlices(px.slices, plan);
        out.slices = preprocess::normalize(slices, options.norm, options.dtype)
                         .reshape({plan.sliceCount(), 3, plan.slice->height, plan.slice->width})
                         .to(options.device);
    }
    return out;
}

ModelView renderModelView(const QImage &rgb, const SlicePlan &plan, RgbColour padColour)
{
    torch::InferenceMode guard;
    const auto px = preprocess::modelPixels(rgb, plan, padColour);
    ModelView view;
    view.overview = preprocess::tensorToImage(px.overview);
    if (px.slices.defined())
        for (int64_t i = 0; i < px.slices.size(0); ++i)
            view.slices.push_back(preprocess::tensorToImage(px.slices[i]));
    return view;
}

QImage padToSquare(const QImage &rgb, RgbColour colour)
{
    if (rgb.isNull())
        throw Error(ErrorCode::InvalidArgument, "padToSquare: the image is empty");
    const QImage src = asRgb888(rgb);
    if (src.width() == src.height())
        return src;
    const int side = std::max(src.width(), src.height());
    QImage out(side, side, QImage::Format_RGB888);
    out.fill(QColor(colour.r, colour.g, colour.b));
    const int x0 = (side - src.width()) / 2, y0 = (side - src.height()) / 2;
    for (int y = 0; y < src.height(); ++y)
        std::memcpy(out.scanLine(y0 + y) + 3 * x0, src.constScanLine(y), static_cast<size_t>(src.width()) * 3);
    return out;
}

QImage quickModelInput(const QImage &rgb, const SlicePlan &plan, int index, RgbColour padColour)
{
    if (rgb.isNull() || plan.overview.width <= 0)
        return {};
    if (index < 0) {
        const QImage source = plan.padToSquare ? padToSquare(rgb, padColour) : rgb;
        return source.scaled(QSize(plan.overview.width, plan.overview.height), Qt::IgnoreAspectRatio,
                             Qt::SmoothTransformation);
    }
    if (index >= plan.sliceCount() || !plan.slice)
        return {};
    // Cropping the original at the slice's true rectangle and resizing it to the slice size gives the same view
    // as resizing the whole image to the refined size and cutting (up to edge resampling).
    const Rect r = plan.sliceInOriginal(index);
    return rgb.copy(r.x, r.y, r.width, r.height)
        .scaled(QSize(plan.slice->width, plan.slice->height), Qt::IgnoreAspectRatio,
                Qt::SmoothTransformation);
}

} // namespace uhdlens
