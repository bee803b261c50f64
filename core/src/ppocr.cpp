// The PP-OCR pipeline of ppocr.h. Each step names the rapidocr 3.10.0 function it mirrors.
#include "ppocr.h"

#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <numeric>

namespace uhdlens::ppocr {

namespace {

// Python's round(): half to even (the default floating-point rounding mode).
double pyRound(double v)
{
    return std::nearbyint(v);
}

// cv2.resize(img, (w, h)) with INTER_LINEAR on a [H, W, 3] uint8 image: half-pixel bilinear without
// antialiasing, rounded back to uint8 (OpenCV's fixed-point arithmetic may differ by one level).
at::Tensor resizeLinear(const at::Tensor &hwc, int64_t h, int64_t w)
{
    if (hwc.size(0) == h && hwc.size(1) == w)
        return hwc;
    const at::Tensor x = hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
    const at::Tensor y = at::upsample_bilinear2d(x, {h, w}, false);
    return y.squeeze(0).permute({1, 2, 0}).round().clamp(0, 255).to(at::kByte).contiguous();
}

// (x / 255 - 0.5) / 0.5 as [3, H, W] float, channel order as given (BGR here, as rapidocr's cv2 images).
at::Tensor normalise(const at::Tensor &hwc)
{
    return (hwc.permute({2, 0, 1}).to(at::kFloat) / 255.0f - 0.5f) / 0.5f;
}

// QImage -> [H, W, 3] uint8 in BGR order (rapidocr's LoadImage converts to BGR).
at::Tensor bgrPixels(const QImage &image)
{
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    if (rgb.isNull())
        throw Error(ErrorCode::ImageEmpty, "PP-OCR: the image could not be converted to RGB");
    const int64_t h = rgb.height(), w = rgb.width();
    at::Tensor t = at::empty({h, w, 3}, at::kByte);
    for (int64_t y = 0; y < h; ++y)
        std::memcpy(t.data_ptr<uint8_t>() + y * w * 3, rgb.constScanLine(int(y)), size_t(w * 3));
    return t.flip({2}).contiguous();
}

// utils/process_img.py reduce_max_side / increase_min_side: sides rounded to multiples of 32.
at::Tensor scaleSides(const at::Tensor &img, double ratio)
{
    const int64_t h = img.size(0), w = img.size(1);
    const int64_t rh = int64_t(pyRound(double(int64_t(double(h) * ratio)) / 32) * 32);
    const int64_t rw = int64_t(pyRound(double(int64_t(double(w) * ratio)) / 32) * 32);
    if (rh <= 0 || rw <= 0)
        throw Error(ErrorCode::InvalidArgument,
                    "PP-OCR: an image of " + std::to_string(w) + "x" + std::to_string(h) +
                        " px cannot be scaled for the detector (aspect ratio too extreme)");
    return resizeLinear(img, rh, rw);
}

bool isSpace(const std::string &s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// utils.is_chinese_char on the class's first code point (CJK Unified Ideographs and their extension A).
bool isChinese(const std::string &s)
{
    if (s.size() < 3 || (uint8_t(s[0]) & 0xF0) != 0xE0)
        return false;
    const uint32_t cp =
        ((uint8_t(s[0]) & 0x0F) << 12) | ((uint8_t(s[1]) & 0x3F) << 6) | (uint8_t(s[2]) & 0x3F);
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

struct Crop
{
    at::Tensor pixels; // [h, w, 3] uint8 BGR
    double ratio = 0;  // w / h
};

} // namespace

std::vector<DetBox> dbBoxes(const at::Tensor &probIn, int destW, int destH, const Options &options)
{
    const at::Tensor prob = probIn.to(at::kFloat).contiguous();
    const int64_t H = prob.size(0), W = prob.size(1);
    // DBPostProcess: pred > thresh, cv2.dilate with a 2x2 kernel (anchor at (1, 1): a pixel is set when it or
    // its left, upper or upper-left neighbour is).
    at::Tensor seg = (prob > options.threshold).to(at::kByte);
    at::Tensor dil = seg.clone();
    if (H > 1)
        dil.slice(0, 1).bitwise_or_(seg.slice(0, 0, H - 1));
    at::Tensor dil2 = dil.clone();
    if (W > 1)
        dil2.slice(1, 1).bitwise_or_(dil.slice(1, 0, W - 1));
    const uint8_t *mask = dil2.data_ptr<uint8_t>();
    const float *p = prob.data_ptr<float>();

    // 8-connected components (findContours follows 8-connected outer borders), each with its bounds.
    std::vector<int32_t> label(size_t(H * W), -1);
    struct Bounds
    {
        int64_t x0, y0, x1, y1;
    };
    std::vector<Bounds> comps;
    std::vector<int64_t> stack;
    for (int64_t i = 0; i < H * W; ++i) {
        if (!mask[i] || label[size_t(i)] >= 0)
            continue;
        const int32_t id = int32_t(comps.size());
        Bounds b{i % W, i / W, i % W, i / W};
        label[size_t(i)] = id;
        stack.assign(1, i);
        while (!stack.empty()) {
            const int64_t k = stack.back();
            stack.pop_back();
            const int64_t y = k / W, x = k % W;
            b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x), b.y0 = std::min(b.y0, y),
            b.y1 = std::max(b.y1, y);
            for (int64_t dy = -1; dy <= 1; ++dy)
                for (int64_t dx = -1; dx <= 1; ++dx) {
                    const int64_t yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                        continue;
                    const int64_t n = yy * W + xx;
                    if (mask[n] && label[size_t(n)] < 0) {
                        label[size_t(n)] = id;
                        stack.push_back(n);
                    }
                }
        }
        comps.push_back(b);
    }

    std::vector<DetBox> out;
    const size_t maxCandidates = 1000; // Det.max_candidates
    for (size_t c = 0; c < std::min(comps.size(), maxCandidates); ++c) {
        const Bounds &b = comps[c];
        // get_mini_boxes: the rectangle through the border pixels' centres; its short side
        const double w = double(b.x1 - b.x0), h = double(b.y1 - b.y0);
        if (std::min(w, h) < 3) // min_size
            continue;
        // box_score_fast: mean probability over the filled rectangle, corners included
        double sum = 0;
        for (int64_t y = b.y0; y <= b.y1; ++y)
            for (int64_t x = b.x0; x <= b.x1; ++x)
                sum += p[y * W + x];
        const double score = sum / double((b.y1 - b.y0 + 1) * (b.x1 - b.x0 + 1));
        if (options.boxThreshold > score)
            continue;
        // unclip: pyclipper's offset by area * ratio / perimeter (round joins; the minimum-area rectangle of
        // the result is the box moved out by the distance on every side, corners rounded to integers)
        const double d = w * h * options.unclipRatio / (2 * (w + h));
        const double ux0 = pyRound(double(b.x0) - d), uy0 = pyRound(double(b.y0) - d);
        const double ux1 = pyRound(double(b.x1) + d), uy1 = pyRound(double(b.y1) + d);
        if (std::min(ux1 - ux0, uy1 - uy0) < 3 + 2)
            continue;
        auto sx = [&](double v) { return std::clamp(pyRound(v / double(W) * destW), 0.0, double(destW)); };
        auto sy = [&](double v) { return std::clamp(pyRound(v / double(H) * destH), 0.0, double(destH)); };
        DetBox box;
        // filter_det_res: clip_det_res to [0, w - 1] x [0, h - 1], then sides <= 3 dropped
        box.x0 = int(std::min(sx(ux0), double(destW - 1)));
        box.x1 = int(std::min(sx(ux1), double(destW - 1)));
        box.y0 = int(std::min(sy(uy0), double(destH - 1)));
        box.y1 = int(std::min(sy(uy1), double(destH - 1)));
        box.score = float(score);
        if (box.x1 - box.x0 <= 3 || box.y1 - box.y0 <= 3)
            continue;
        out.push_back(box);
    }
    return out;
}

void sortBoxes(std::vector<DetBox> &boxes)
{
    // TextDetector.sorted_boxes: stable sort by top; a new row where the next top is >= 10 px lower;
    // lexsort by (row, left).
    std::stable_sort(boxes.begin(), boxes.end(),
                     [](const DetBox &a, const DetBox &b) { return a.y0 < b.y0; });
    std::vector<int> row(boxes.size(), 0);
    for (size_t i = 1; i < boxes.size(); ++i)
        row[i] = row[i - 1] + (boxes[i].y0 - boxes[i - 1].y0 >= 10 ? 1 : 0);
    std::vector<size_t> order(boxes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return row[a] != row[b] ? row[a] < row[b] : boxes[a].x0 < boxes[b].x0;
    });
    std::vector<DetBox> sorted;
    for (size_t i : order)
        sorted.push_back(boxes[i]);
    boxes = std::move(sorted);
}

std::vector<CtcChar> ctcGreedy(const at::Tensor &probs)
{
    const auto [maxv, argmax] = probs.to(at::kFloat).max(1);
    const auto v = maxv.contiguous(), a = argmax.contiguous();
    std::vector<CtcChar> out;
    const int64_t T = probs.size(0);
    for (int64_t t = 0; t < T; ++t) {
        const int64_t c = a.data_ptr<int64_t>()[t];
        if (c == 0 || (t > 0 && a.data_ptr<int64_t>()[t - 1] == c))
            continue;
        out.push_back({int(c), int(t), v.data_ptr<float>()[t]});
    }
    return out;
}

std::vector<std::string> dictionaryClasses(const std::string &metadata)
{
    // CTCLabelDecode.get_character: blank at 0, the dictionary's lines, " " last
    std::vector<std::string> classes{"blank"};
    size_t start = 0;
    while (start <= metadata.size()) {
        size_t end = metadata.find('\n', start);
        if (end == std::string::npos)
            end = metadata.size();
        std::string line = metadata.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        classes.push_back(line);
        start = end + 1;
    }
    classes.push_back(" ");
    return classes;
}

Recogniser Recogniser::load(const std::string &detPath, const std::string &recPath)
{
    onnx::OnnxRunner det = onnx::OnnxRunner::load(detPath);
    onnx::OnnxRunner rec = onnx::OnnxRunner::load(recPath);
    for (const auto *r : {&det, &rec})
        if (r->inputNames().size() != 1 || r->outputNames().size() != 1)
            throw Error(ErrorCode::CheckpointInvalid,
                        "PP-OCR: expected a graph with one input and one output",
                        r == &det ? detPath : recPath);
    const std::string *dict = rec.metadataValue("character");
    if (!dict || dict->empty())
        throw Error(ErrorCode::CheckpointInvalid,
                    "PP-OCR: the recogniser has no 'character' dictionary in its metadata", recPath);
    std::vector<std::string> classes = dictionaryClasses(*dict);
    return Recogniser(std::move(det), std::move(rec), std::move(classes));
}

Recogniser Recogniser::loadBaseWeights()
{
    const std::string det = findBaseWeight(kPpocrDetOnnxFile), rec = findBaseWeight(kPpocrRecOnnxFile);
    if (det.empty() || rec.empty())
        throw Error(ErrorCode::FileNotFound,
                    std::string("PP-OCR base weights not installed (") + baseWeightsDir() + "/" +
                        (det.empty() ? kPpocrDetOnnxFile : kPpocrRecOnnxFile) + "): run " +
                        kBaseWeightsCommand,
                    det.empty() ? kPpocrDetOnnxFile : kPpocrRecOnnxFile);
    return load(det, rec);
}

std::vector<Line> Recogniser::recognise(const QImage &image, const Options &options) const
{
    if (image.isNull() || image.width() <= 0 || image.height() <= 0)
        throw Error(ErrorCode::ImageEmpty, "PP-OCR: the image is empty");
    torch::InferenceMode guard;
    const int oriW = image.width(), oriH = image.height();
    at::Tensor img = bgrPixels(image);

    // RapidOCR.preprocess_img (resize_image_within_bounds: max side 2000, min side 30)
    double ratioH = 1, ratioW = 1;
    if (std::max(oriW, oriH) > 2000) {
        img = scaleSides(img, 2000.0 / std::max(oriW, oriH));
        ratioH = double(oriH) / double(img.size(0)), ratioW = double(oriW) / double(img.size(1));
    }
    if (std::min(img.size(0), img.size(1)) < 30) {
        const int64_t h0 = img.size(0), w0 = img.size(1);
        img = scaleSides(img, 30.0 / double(std::min(h0, w0)));
        // rapidocr records the ratio of this step alone, against its input
        ratioH = double(h0) / double(img.size(0)), ratioW = double(w0) / double(img.size(1));
    }
    // apply_vertical_padding (min_height 30, width_height_ratio 8): black rows above and below
    int64_t padTop = 0;
    {
        const int64_t h = img.size(0), w = img.size(1);
        if (h <= 30 || double(w) / double(h) > 8) {
            const int64_t newH = std::max<int64_t>(int64_t(double(w) / 8), 30) * 2;
            padTop = std::abs(newH - h) / 2;
            at::Tensor padded = at::zeros({h + 2 * padTop, w, 3}, at::kByte);
            padded.slice(0, padTop, padTop + h).copy_(img);
            img = padded;
        }
    }
    const int64_t detH = img.size(0), detW = img.size(1);
    // DetPreProcess.resize (limit_type min, limit_side_len 736)
    const double ratio = std::min(detH, detW) < 736 ? 736.0 / double(std::min(detH, detW)) : 1.0;
    const int64_t rh = int64_t(pyRound(double(int64_t(double(detH) * ratio)) / 32) * 32);
    const int64_t rw = int64_t(pyRound(double(int64_t(double(detW) * ratio)) / 32) * 32);
    if (rh <= 0 || rw <= 0)
        throw Error(ErrorCode::InvalidArgument, "PP-OCR: the image cannot be scaled for the detector");
    // Not in rapidocr: its short-side rule makes a tall, narrow image huge (20x1900 px -> 736x65504), which
    // would take minutes and gigabytes; such inputs are refused.
    if (rh * rw > kMaxDetectorPixels)
        throw Error(ErrorCode::InvalidArgument,
                    "PP-OCR: an image of " + std::to_string(oriW) + "x" + std::to_string(oriH) +
                        " px would be scaled to " + std::to_string(rw) + "x" + std::to_string(rh) +
                        " px for the detector (aspect ratio too extreme; at most " +
                        std::to_string(kMaxDetectorPixels) + " pixels)");
    const at::Tensor detIn = normalise(resizeLinear(img, rh, rw)).unsqueeze(0).contiguous();
    const at::Tensor prob = m_det.run({{m_det.inputNames()[0], detIn}}).at(m_det.outputNames()[0]);
    if (prob.dim() != 4 || prob.size(0) != 1 || prob.size(1) != 1)
        throw Error(ErrorCode::CheckpointInvalid, "PP-OCR: the detector's output is not [1, 1, H, W]");
    std::vector<DetBox> boxes = dbBoxes(prob[0][0], int(detW), int(detH), options);
    sortBoxes(boxes);
    if (boxes.empty())
        return {};
    auto checkCancel = [&options] {
        if (options.cancel && options.cancel->load(std::memory_order_relaxed))
            throw Error(ErrorCode::Cancelled, "text recognition was cancelled");
    };
    checkCancel();

    // crop_text_regions (get_rotate_crop_image: an axis-aligned box is a plain crop; rot90 when tall)
    std::vector<Crop> crops;
    for (const DetBox &b : boxes) {
        at::Tensor c = img.slice(0, b.y0, b.y1).slice(1, b.x0, b.x1);
        if (double(c.size(0)) / double(c.size(1)) >= 1.5)
            c = at::rot90(c, 1, {0, 1});
        c = c.contiguous();
        crops.push_back({c, double(c.size(1)) / double(c.size(0))});
    }

    // TextRecognizer: batches in order of aspect
    std::vector<size_t> order(crops.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return crops[a].ratio < crops[b].ratio; });
    struct Decoded
    {
        std::vector<CtcChar> chars;
        int64_t columns = 0;
        double lineTxtLen = 0; // rapidocr's line_txt_len: columns of this crop's own width
    };
    std::vector<Decoded> decoded(crops.size());
    const int64_t classes = int64_t(m_classes.size());
    const int batch = std::max(1, options.recBatch);
    for (size_t beg = 0; beg < order.size(); beg += size_t(batch)) {
        checkCancel();
        const size_t end = std::min(order.size(), beg + size_t(batch));
        double maxRatio = 320.0 / 48.0;
        for (size_t i = beg; i < end; ++i)
            maxRatio = std::max(maxRatio, crops[order[i]].ratio);
        const int64_t width = int64_t(48 * maxRatio);
        at::Tensor x = at::zeros({int64_t(end - beg), 3, 48, width}, at::kFloat);
        for (size_t i = beg; i < end; ++i) {
            const Crop &c = crops[order[i]];
            const int64_t rw2 = std::min<int64_t>(width, int64_t(std::ceil(48 * c.ratio)));
            x[int64_t(i - beg)].slice(2, 0, rw2).copy_(
                normalise(resizeLinear(c.pixels, 48, std::max<int64_t>(1, rw2))));
        }
        const at::Tensor y = m_rec.run({{m_rec.inputNames()[0], x}}).at(m_rec.outputNames()[0]);
        if (y.dim() != 3 || y.size(0) != int64_t(end - beg) || y.size(2) != classes)
            throw Error(ErrorCode::CheckpointInvalid,
                        "PP-OCR: the recogniser's output does not match its dictionary (" +
                            std::to_string(classes) + " classes expected)");
        for (size_t i = beg; i < end; ++i) {
            Decoded &d = decoded[order[i]];
            d.chars = ctcGreedy(y[int64_t(i - beg)]);
            d.columns = y.size(1);
            d.lineTxtLen = double(d.columns) * crops[order[i]].ratio / maxRatio;
        }
    }

    std::vector<Line> lines;
    for (size_t k = 0; k < boxes.size(); ++k) {
        const DetBox &b = boxes[k];
        const Decoded &d = decoded[k];
        Line line;
        double confSum = 0;
        for (const CtcChar &c : d.chars) {
            line.text += m_classes[size_t(c.classIndex)];
            confSum += c.probability;
        }
        line.score = d.chars.empty() ? 0.0f : float(confSum / double(d.chars.size()));
        // build_final_output: blank texts dropped; filter_by_text_score
        if (std::all_of(line.text.begin(), line.text.end(),
                        [](char ch) { return std::isspace(uint8_t(ch)); }))
            continue;
        if (line.score < options.textScore)
            continue;
        line.boxScore = b.score;
        // map_boxes_to_original: padding removed, scaled back, clamped to the image
        auto mx = [&](double v) { return std::clamp(v * ratioW, 0.0, double(oriW)); };
        auto my = [&](double v) { return std::clamp((v - double(padTop)) * ratioH, 0.0, double(oriH)); };
        const double X0 = mx(b.x0), X1 = mx(b.x1), Y0 = my(b.y0), Y1 = my(b.y1);
        line.box = QRect(QPoint(int(X0), int(Y0)), QPoint(int(X1) - 1, int(Y1) - 1));

        // Words (ppocr_compare.py's rule over rapidocr's return_single_char_box boxes, CalRecBoxes): each
        // character centred on its column, avg_char_width wide; a word is the union of its characters.
        const double cropW = X1 - X0; // the crop scaled back to the image (map_img_to_original)
        if (d.chars.empty() || d.lineTxtLen <= 0 || cropW <= 0) {
            lines.push_back(std::move(line));
            continue;
        }
        const double colW = cropW / d.lineTxtLen;
        // get_word_info's groups (spaces, Chinese / other changes, gaps > 5 columns) give the character width
        std::vector<double> groupWidths;
        {
            int first = -1, last = -1, count = 0, prevCol = -1;
            int state = -1;
            auto flush = [&]() {
                if (count > 1)
                    groupWidths.push_back(double(last - first) * colW / double(count - 1));
                first = -1, count = 0;
            };
            for (size_t i = 0; i < d.chars.size(); ++i) {
                const std::string &s = m_classes[size_t(d.chars[i].classIndex)];
                const int col = d.chars[i].column;
                const int colGap = i == 0 ? std::min(isChinese(s) ? 3 : 2, col) : col - prevCol;
                prevCol = col;
                if (isSpace(s)) {
                    flush();
                    continue;
                }
                const int cState = isChinese(s) ? 1 : 0;
                if (state < 0)
                    state = cState;
                if (state != cState || colGap > 5) {
                    flush();
                    state = cState;
                }
                if (count == 0)
                    first = col;
                last = col;
                ++count;
            }
            flush();
        }
        size_t textLen = 0; // Python len(): code points
        for (char ch : line.text)
            textLen += (uint8_t(ch) & 0xC0) != 0x80;
        const double charW =
            groupWidths.empty()
                ? cropW / double(textLen)
                : std::accumulate(groupWidths.begin(), groupWidths.end(), 0.0) / double(groupWidths.size());
        // calc_box: each non-space character's [x0, x1) in the crop, sorted by x0 (stable);
        // adjust_box_overlap: neighbours that overlap give up half the overlap each, in order
        struct CharBox
        {
            double x0, x1;
        };
        std::vector<CharBox> charBoxes;
        for (const CtcChar &c : d.chars) {
            if (isSpace(m_classes[size_t(c.classIndex)]))
                continue;
            const double cx = (c.column + 0.5) * colW;
            charBoxes.push_back(
                {std::max(double(int(cx - charW / 2)), 0.0), std::min(double(int(cx + charW / 2)), cropW)});
        }
        std::stable_sort(charBoxes.begin(), charBoxes.end(),
                         [](const CharBox &a, const CharBox &b) { return a.x0 < b.x0; });
        for (size_t i = 0; i + 1 < charBoxes.size(); ++i) {
            CharBox &cur = charBoxes[i], &nxt = charBoxes[i + 1];
            if (cur.x1 > nxt.x0) {
                const double dist = std::abs(cur.x1 - nxt.x0);
                cur.x1 -= dist / 2;
                nxt.x0 += dist - dist / 2;
            }
        }
        // reverse_rotate_crop_image (an axis-aligned crop: a shift by the box's integer corner); words as
        // ppocr_compare.py's words_from_chars: the sorted boxes taken in text order, a word the union of its
        // characters' boxes
        const int left = int(X0);
        Word word;
        double wordConf = 0;
        int wordChars = 0;
        int wx0 = 0, wx1 = 0;
        size_t next = 0;
        auto endWord = [&]() {
            if (wordChars == 0)
                return;
            word.box = QRect(QPoint(wx0, int(Y0)), QPoint(wx1 - 1, int(Y1) - 1));
            word.confidence = float(wordConf / wordChars);
            line.words.push_back(word);
            word = Word{};
            wordConf = 0, wordChars = 0;
        };
        for (const CtcChar &c : d.chars) {
            const std::string &s = m_classes[size_t(c.classIndex)];
            if (isSpace(s)) {
                endWord();
                continue;
            }
            const int cx0 = int(charBoxes[next].x0 + left), cx1 = int(charBoxes[next].x1 + left);
            ++next;
            if (wordChars == 0)
                wx0 = cx0, wx1 = cx1;
            wx0 = std::min(wx0, cx0), wx1 = std::max(wx1, cx1);
            word.text += s;
            wordConf += c.probability;
            ++wordChars;
        }
        endWord();
        lines.push_back(std::move(line));
    }
    return lines;
}

} // namespace uhdlens::ppocr
