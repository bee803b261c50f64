// Synthetic images + question/answer pairs for training and evaluating the bundled model (see synthdata.h).
//
// Determinism: all randomness comes from one SplitMix64 stream seeded from (split, family, seed); no
// std::uniform_*_distribution (their algorithms differ between standard libraries), no clocks, no global
// state besides the registered font files.
#include "uhdlens/lab/synthdata.h"

#include "uhdlens/errors.h"

#include <QFile>
#include <QFont>
#include <QFontDatabase>
#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPath>
#include <QPolygonF>
#include <QTextLayout>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

namespace uhdlens::synth {

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified, so sequences match everywhere.
class Rng
{
public:
    explicit Rng(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double real() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); } // [0,1)
    int uniform(int lo, int hi) // inclusive
    {
        if (hi <= lo)
            return lo;
        return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    double uniformReal(double lo, double hi) { return lo + (hi - lo) * real(); }
    double logUniform(double lo, double hi) { return std::exp(uniformReal(std::log(lo), std::log(hi))); }
    bool chance(double p) { return real() < p; }
    template <typename T> const T &pick(const std::vector<T> &v) { return v[next() % v.size()]; }
    template <typename T> void shuffle(std::vector<T> &v)
    {
        for (std::size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[next() % i]);
    }

private:
    std::uint64_t m_state;
};

std::uint64_t mixSeed(Split split, Family family, std::uint64_t seed)
{
    Rng r(seed * 0x100000001B3ULL + static_cast<std::uint64_t>(split) * 7919 + static_cast<std::uint64_t>(family) * 104729);
    r.next();
    return r.next();
}

struct NamedColour
{
    const char *name;
    QColor colour;
};

// Shape and button colours: far apart in hue so a colour name is unambiguous even after downscaling.
const std::vector<NamedColour> &paletteColours()
{
    static const std::vector<NamedColour> p = {
        {"red", QColor(220, 40, 40)},    {"green", QColor(40, 170, 60)},   {"blue", QColor(40, 80, 220)},
        {"yellow", QColor(240, 210, 30)}, {"purple", QColor(140, 60, 180)}, {"orange", QColor(245, 130, 20)},
    };
    return p;
}

const std::vector<QColor> &backgroundColours()
{
    static const std::vector<QColor> b = {QColor(250, 250, 250), QColor(236, 240, 244), QColor(245, 242, 232),
                                          QColor(228, 232, 236), QColor(250, 246, 240), QColor(238, 238, 238)};
    return b;
}

const std::vector<std::string> &menuWords()
{
    static const std::vector<std::string> m = {"File", "Edit", "View", "Tools", "Help", "Window", "Format", "Insert"};
    return m;
}

struct FontFile
{
    const char *path;
    bool bold;
};

// Training faces: DejaVu and Liberation (fonts-dejavu-core/-extra, fonts-liberation2). Held out: Noto Sans CJK
// (fonts-noto-cjk), whose Latin glyphs have a different design from every training face.
const std::vector<FontFile> &fontFiles(Split split)
{
    static const std::vector<FontFile> train = {
        {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", false},
        {"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", true},
        {"/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", false},
        {"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", false},
        {"/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", false},
        {"/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf", true},
        {"/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf", false},
        {"/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf", false},
    };
    static const std::vector<FontFile> heldOut = {
        {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", false},
        {"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", true},
    };
    return split == Split::HeldOut ? heldOut : train;
}

struct Face
{
    QString family;
    bool bold = false;
};

std::mutex g_fontMutex;
std::map<Split, std::vector<Face>> g_faces;

const std::vector<Face> &facesFor(Split split)
{
    std::lock_guard<std::mutex> lock(g_fontMutex);
    auto it = g_faces.find(split);
    if (it != g_faces.end())
        return it->second;
    std::vector<Face> faces;
    for (const FontFile &f : fontFiles(split)) {
        const QString path = QString::fromUtf8(f.path);
        if (!QFile::exists(path))
            throw Error(ErrorCode::FileNotFound,
                        std::string("font file missing: ") + f.path + " (run installer/install-deps.sh)", f.path);
        const int id = QFontDatabase::addApplicationFont(path);
        const QStringList families = id < 0 ? QStringList() : QFontDatabase::applicationFontFamilies(id);
        if (families.isEmpty())
            throw Error(ErrorCode::FileUnreadable, std::string("font file could not be loaded: ") + f.path, f.path);
        // A .ttc holds several families (JP, KR, SC, ...); all share the Latin glyphs, take the first sorted one
        // so the choice does not depend on the collection's order.
        QStringList sorted = families;
        sorted.sort();
        faces.push_back({sorted.front(), f.bold});
    }
    return g_faces.emplace(split, std::move(faces)).first->second;
}

QFont makeFont(const Face &face, int pixelSize, bool bold = false)
{
    QFont font(face.family);
    font.setPixelSize(std::max(1, pixelSize));
    font.setBold(face.bold || bold);
    font.setStyleStrategy(QFont::NoFontMerging); // every glyph from the chosen file, never a fallback face
    return font;
}

// ---- geometry helpers -------------------------------------------------------------------------------------

QSize drawImageSize(Rng &rng, const Options &o, double portraitBias)
{
    const double aspect = std::exp(rng.uniformReal(0.0, std::log(o.maxAspect)));
    const double longSide = rng.logUniform(o.minSide, o.maxSide + 0.999);
    int l = std::clamp(static_cast<int>(longSide), o.minSide, o.maxSide);
    int s = std::clamp(static_cast<int>(std::lround(l / aspect)), o.minSide, o.maxSide);
    if (rng.chance(portraitBias))
        return QSize(s, l);
    return QSize(l, s);
}

// Draws a text size log-uniformly in [minText, maxText], capped at `cap` (so it fits where it goes).
int textSize(Rng &rng, const Options &o, double cap)
{
    const double hi = std::max<double>(o.minText, std::min<double>(o.maxText, cap));
    return std::max(o.minText, static_cast<int>(std::floor(rng.logUniform(o.minText, hi + 0.999))));
}

// Shrinks `font` until `text` is at most `maxWidth` wide; returns false if even minPixel does not fit.
bool fitFont(QFont &font, const QString &text, double maxWidth, int minPixel)
{
    while (QFontMetricsF(font).horizontalAdvance(text) > maxWidth) {
        if (font.pixelSize() <= minPixel)
            return false;
        font.setPixelSize(std::max(minPixel, static_cast<int>(font.pixelSize() * 0.85)));
    }
    return true;
}

QString qs(const std::string &s) { return QString::fromStdString(s); }

std::string titleText(Rng &rng, int maxWords)
{
    const int n = rng.uniform(1, maxWords);
    std::string t;
    for (int i = 0; i < n; ++i) {
        if (i)
            t += ' ';
        t += rng.pick(words());
    }
    return t;
}

// The text log of the sample being rendered on this thread (generate() sets it): every content text is drawn
// through drawLogged so Sample::texts records it without threading a parameter through every renderer.
thread_local std::vector<TextItem> *t_textLog = nullptr;
thread_local std::vector<TextItem> *t_shapeLog = nullptr; // the same for the shapes a scene draws

void drawLogged(QPainter &p, const QPointF &base, const QString &text)
{
    p.drawText(base, text);
    if (!t_textLog)
        return;
    const QFontMetricsF fm(p.font());
    TextItem item;
    item.text = text.toStdString();
    item.pixelSize = p.font().pixelSize();
    item.x = static_cast<int>(std::floor(base.x()));
    item.y = static_cast<int>(std::floor(base.y() - fm.ascent()));
    item.width = static_cast<int>(std::ceil(fm.horizontalAdvance(text)));
    item.height = static_cast<int>(std::ceil(fm.height()));
    // Cursor positions of one shaped line (kerning included, as drawn), not sums of per-character advances.
    QTextLayout layout(text, p.font());
    layout.beginLayout();
    const QTextLine line = layout.createLine();
    layout.endLayout();
    item.charEnds.reserve(static_cast<std::size_t>(text.size()));
    for (qsizetype i = 1; i <= text.size(); ++i)
        item.charEnds.push_back(
            static_cast<float>(line.isValid() ? line.cursorToX(static_cast<int>(i)) : 0.0));
    t_textLog->push_back(std::move(item));
}

QA makeQa(std::string q, std::string a, Task task, double height, const QRectF &where)
{
    QA qa;
    qa.question = std::move(q);
    qa.answer = std::move(a);
    qa.task = task;
    qa.detailHeight = height;
    qa.x = static_cast<int>(std::floor(where.x()));
    qa.y = static_cast<int>(std::floor(where.y()));
    qa.width = static_cast<int>(std::ceil(where.width()));
    qa.height = static_cast<int>(std::ceil(where.height()));
    return qa;
}

// Filler text lines of random words at `px`, from y0 while there is room; returns the y after the last line.
// `highlight`: if it is still unset and a word lands inside, draws that word on a yellow box and records it.
double fillerLines(QPainter &p, Rng &rng, const Face &face, int px, const QRectF &area, double y0, int maxLines,
                   std::optional<QA> *highlight, const QColor &ink)
{
    QFont font = makeFont(face, px);
    p.setFont(font);
    QFontMetricsF fm(font);
    const double lineH = px * 1.5;
    double y = y0;
    int lines = 0;
    const int highlightLine = highlight && !highlight->has_value() ? rng.uniform(0, std::max(0, maxLines - 1)) : -1;
    while (y + lineH <= area.bottom() && lines < maxLines) {
        double x = area.left();
        const int wordsInLine = rng.uniform(2, 12);
        const int highlightWord = lines == highlightLine ? rng.uniform(0, wordsInLine - 1) : -1;
        for (int w = 0; w < wordsInLine; ++w) {
            const std::string word = rng.chance(0.15) ? std::to_string(rng.uniform(1, 999)) : rng.pick(words());
            const QString text = qs(word);
            const double adv = fm.horizontalAdvance(text);
            if (x + adv > area.right())
                break;
            const QPointF base(x, y + fm.ascent() + (lineH - fm.height()) / 2);
            if (w == highlightWord && highlight && !highlight->has_value() && !std::isdigit(static_cast<unsigned char>(word[0]))) {
                const QRectF box(x - px * 0.2, y + (lineH - fm.height()) / 2 - px * 0.1, adv + px * 0.4, fm.height() + px * 0.2);
                p.fillRect(box, QColor(255, 235, 59));
                *highlight = makeQa("Which word is highlighted?", word, Task::Highlighted, px, box);
            }
            p.setPen(ink);
            drawLogged(p, base, text);
            x += adv + fm.horizontalAdvance(QStringLiteral(" "));
        }
        y += lineH;
        ++lines;
    }
    return y;
}

// ---- families -----------------------------------------------------------------------------------------------

void renderWindow(QPainter &p, Rng &rng, const Options &o, const QSize &size, const std::vector<Face> &faces,
                  std::vector<QA> &qas)
{
    const double W = size.width(), H = size.height();
    p.fillRect(QRectF(0, 0, W, H), QColor(60 + rng.uniform(0, 60), 90 + rng.uniform(0, 60), 120 + rng.uniform(0, 60)));
    const double margin = std::min(W, H) * rng.uniformReal(0.0, 0.06);
    const QRectF win(margin, margin, W - 2 * margin, H - 2 * margin);
    const Face &face = rng.pick(faces);
    const QColor ink(30, 30, 30);

    // Title bar.
    const int titlePx = textSize(rng, o, std::min(win.height() / 6, win.width() / 10));
    const double barH = titlePx * 1.8;
    const QColor barColour = rng.chance(0.5) ? QColor(225, 225, 230) : QColor(50, 60, 80);
    p.fillRect(win, rng.pick(backgroundColours()));
    p.fillRect(QRectF(win.left(), win.top(), win.width(), barH), barColour);
    const std::string title = titleText(rng, 2);
    QFont tf = makeFont(face, titlePx, true);
    const double controls = barH * 3;
    if (fitFont(tf, qs(title), win.width() - controls - titlePx, o.minText)) {
        p.setFont(tf);
        p.setPen(barColour.lightness() > 128 ? QColor(20, 20, 20) : QColor(245, 245, 245));
        QFontMetricsF fm(tf);
        const QPointF base(win.left() + titlePx * 0.6, win.top() + (barH - fm.height()) / 2 + fm.ascent());
        drawLogged(p, base, qs(title));
        qas.push_back(makeQa("What is the window title?", title, Task::WindowTitle, tf.pixelSize(),
                             QRectF(base.x(), win.top(), fm.horizontalAdvance(qs(title)), barH)));
    }
    // Window controls: three circles at the right end of the title bar.
    for (int i = 0; i < 3; ++i) {
        const double r = barH * 0.22;
        const QColor c = i == 0 ? QColor(230, 80, 70) : i == 1 ? QColor(240, 190, 50) : QColor(90, 190, 80);
        p.setPen(Qt::NoPen);
        p.setBrush(c);
        p.drawEllipse(QPointF(win.right() - barH * (0.6 + 0.7 * i), win.top() + barH / 2), r, r);
    }

    // Menu bar.
    const int menuPx = std::max(o.minText, static_cast<int>(titlePx * rng.uniformReal(0.6, 1.0)));
    const double menuH = menuPx * 1.7;
    double y = win.top() + barH;
    if (y + menuH < win.bottom()) {
        p.fillRect(QRectF(win.left(), y, win.width(), menuH), QColor(245, 245, 247));
        QFont mf = makeFont(face, menuPx);
        p.setFont(mf);
        p.setPen(ink);
        QFontMetricsF fm(mf);
        double x = win.left() + menuPx;
        for (const std::string &m : menuWords()) {
            if (rng.chance(0.3))
                continue;
            const double adv = fm.horizontalAdvance(qs(m));
            if (x + adv > win.right())
                break;
            drawLogged(p, QPointF(x, y + (menuH - fm.height()) / 2 + fm.ascent()), qs(m));
            x += adv + menuPx * 1.5;
        }
        y += menuH;
    }

    // Body: label/field rows with one highlighted word, then a row of coloured buttons at the bottom right.
    const int bodyPx = textSize(rng, o, std::min(win.height() / 8, win.width() / 12));
    const int buttonPx = std::clamp(static_cast<int>(bodyPx * rng.uniformReal(0.8, 1.3)), o.minText, o.maxText);
    const double buttonH = buttonPx * 2.0;
    const QRectF body(win.left() + bodyPx, y + bodyPx * 0.8, win.width() - 2 * bodyPx,
                      std::max(0.0, win.bottom() - y - bodyPx * 1.6 - buttonH - bodyPx));
    std::optional<QA> highlight;
    if (body.height() > bodyPx * 1.5)
        fillerLines(p, rng, face, bodyPx, body, body.top(), rng.uniform(2, 40), &highlight, ink);
    if (highlight)
        qas.push_back(*highlight);

    // Buttons: distinct colours, each asked about by its colour.
    std::vector<int> colourIdx(paletteColours().size());
    for (std::size_t i = 0; i < colourIdx.size(); ++i)
        colourIdx[i] = static_cast<int>(i);
    rng.shuffle(colourIdx);
    const int nButtons = rng.uniform(1, 4);
    QFont bf = makeFont(face, buttonPx);
    QFontMetricsF bfm(bf);
    double bx = win.right() - bodyPx;
    const double by = win.bottom() - bodyPx * 0.8 - buttonH;
    if (by > y) {
        p.setFont(bf);
        for (int i = 0; i < nButtons; ++i) {
            const std::string label = rng.pick(words());
            const double bw = bfm.horizontalAdvance(qs(label)) + buttonPx * 2;
            if (bx - bw < win.left() + bodyPx)
                break;
            const NamedColour &nc = paletteColours()[colourIdx[i]];
            const QRectF r(bx - bw, by, bw, buttonH);
            p.setPen(QPen(nc.colour.darker(140), std::max(1.0, buttonPx / 10.0)));
            p.setBrush(nc.colour);
            p.drawRoundedRect(r, buttonPx * 0.4, buttonPx * 0.4);
            p.setPen(nc.colour.lightness() > 150 ? QColor(20, 20, 20) : QColor(255, 255, 255));
            drawLogged(p, QPointF(r.left() + buttonPx, r.top() + (buttonH - bfm.height()) / 2 + bfm.ascent()), qs(label));
            qas.push_back(makeQa(std::string("What does the ") + nc.name + " button say?", label, Task::ButtonLabel,
                                 buttonPx, r));
            bx -= bw + buttonPx;
        }
    }

    // Sometimes a modal dialog over the body.
    if (rng.chance(0.35)) {
        const int dlgPx = textSize(rng, o, std::min(win.height() / 10, win.width() / 14));
        const std::string dlgTitle = titleText(rng, 2);
        QFont df = makeFont(face, dlgPx, true);
        QFontMetricsF dfm(df);
        const double dw = std::max(dfm.horizontalAdvance(qs(dlgTitle)) + dlgPx * 4, dlgPx * 16.0);
        const double dh = dlgPx * 8.0;
        if (dw < win.width() * 0.9 && dh < win.height() * 0.6) {
            const double dx = win.left() + rng.uniformReal(0.05, 0.95) * (win.width() - dw);
            const double dy = win.top() + barH + rng.uniformReal(0.0, 0.8) * std::max(0.0, win.height() - barH - dh);
            const QRectF d(dx, dy, dw, dh);
            // The dialog hides what is under it: drop questions about covered details.
            qas.erase(std::remove_if(qas.begin(), qas.end(),
                                     [&](const QA &qa) {
                                         return d.intersects(QRectF(qa.x, qa.y, qa.width, qa.height));
                                     }),
                      qas.end());
            if (t_textLog)
                t_textLog->erase(std::remove_if(t_textLog->begin(), t_textLog->end(),
                                                [&](const TextItem &t) {
                                                    return d.intersects(QRectF(t.x, t.y, t.width, t.height));
                                                }),
                                 t_textLog->end());
            p.setPen(QPen(QColor(90, 90, 90), std::max(1.0, dlgPx / 12.0)));
            p.setBrush(QColor(252, 252, 252));
            p.drawRect(d);
            p.fillRect(QRectF(d.left(), d.top(), d.width(), dlgPx * 1.8), QColor(210, 215, 225));
            p.setFont(df);
            p.setPen(QColor(20, 20, 20));
            drawLogged(p, QPointF(d.left() + dlgPx, d.top() + (dlgPx * 1.8 - dfm.height()) / 2 + dfm.ascent()), qs(dlgTitle));
            qas.push_back(makeQa("What is the dialog title?", dlgTitle, Task::WindowTitle, dlgPx,
                                 QRectF(d.left(), d.top(), d.width(), dlgPx * 1.8)));
            QFont mf = makeFont(face, dlgPx);
            p.setFont(mf);
            drawLogged(p, QPointF(d.left() + dlgPx, d.top() + dlgPx * 4), qs(titleText(rng, 3)));
        }
    }
}

void renderDocument(QPainter &p, Rng &rng, const Options &o, const QSize &size, const std::vector<Face> &faces,
                    std::vector<QA> &qas)
{
    const double W = size.width(), H = size.height();
    const bool receipt = W < H * 0.6 && rng.chance(0.6);
    p.fillRect(QRectF(0, 0, W, H), receipt ? QColor(252, 250, 240) : rng.pick(backgroundColours()));
    const Face &face = receipt ? faces[std::min<std::size_t>(3, faces.size() - 1)] : rng.pick(faces);
    const QColor ink(25, 25, 35);
    const double margin = std::min(W, H) * rng.uniformReal(0.03, 0.08);
    const QRectF page(margin, margin, W - 2 * margin, H - 2 * margin);

    // Heading.
    const int headPx = textSize(rng, o, std::min(page.height() / 8, page.width() / 8));
    const std::string heading = titleText(rng, 2);
    QFont hf = makeFont(face, headPx, true);
    double y = page.top();
    if (fitFont(hf, qs(heading), page.width(), o.minText)) {
        p.setFont(hf);
        p.setPen(ink);
        QFontMetricsF fm(hf);
        const double x = receipt ? page.left() + (page.width() - fm.horizontalAdvance(qs(heading))) / 2 : page.left();
        drawLogged(p, QPointF(x, y + fm.ascent()), qs(heading));
        qas.push_back(makeQa("What is the heading?", heading, Task::Heading, hf.pixelSize(),
                             QRectF(x, y, fm.horizontalAdvance(qs(heading)), fm.height())));
        y += fm.height() * 1.6;
    }

    // Paragraph lines (one highlighted word), then the table, then more lines.
    const int bodyPx = textSize(rng, o, std::min(page.height() / 12, page.width() / 12));
    std::optional<QA> highlight;
    const int tableRows = rng.uniform(2, 9);
    const int tablePx = textSize(rng, o, std::min(page.height() / (tableRows + 4.0) / 1.8, page.width() / 16));
    const double tableH = (tableRows + 1) * tablePx * 1.8;
    const QRectF textArea(page.left(), y, page.width(), std::max(0.0, page.bottom() - y - tableH - tablePx));
    y = fillerLines(p, rng, face, bodyPx, textArea, y, rng.uniform(1, 30), receipt ? nullptr : &highlight, ink);
    if (highlight)
        qas.push_back(*highlight);

    y += tablePx;
    if (y + tableH <= page.bottom()) {
        QFont tf = makeFont(face, tablePx);
        QFontMetricsF fm(tf);
        p.setFont(tf);
        const double rowH = tablePx * 1.8;
        const double tableW = std::min(page.width(), tablePx * 24.0);
        const double amountX = page.left() + tableW * 0.62;
        const bool grid = !receipt;
        std::vector<std::pair<std::string, int>> rows;
        for (int r = 0; r < tableRows; ++r)
            rows.emplace_back(rng.pick(words()), rng.uniform(1, 999));
        const int asked = rng.uniform(0, tableRows - 1);
        for (int r = -1; r < tableRows; ++r) {
            const double ry = y + (r + 1) * rowH;
            if (grid && r == -1)
                p.fillRect(QRectF(page.left(), ry, tableW, rowH), QColor(225, 230, 238));
            p.setPen(ink);
            const QString left = r < 0 ? QStringLiteral("Item") : qs(rows[r].first);
            const QString right = r < 0 ? QStringLiteral("Amount") : QString::number(rows[r].second);
            const double base = ry + (rowH - fm.height()) / 2 + fm.ascent();
            drawLogged(p, QPointF(page.left() + tablePx * 0.5, base), left);
            drawLogged(p, QPointF(amountX + tablePx * 0.5, base), right);
            if (grid) {
                p.setPen(QPen(QColor(120, 120, 130), std::max(1.0, tablePx / 14.0)));
                p.drawLine(QPointF(page.left(), ry + rowH), QPointF(page.left() + tableW, ry + rowH));
            }
            if (r == asked) {
                const std::string q = receipt ? "What is the amount on line " + std::to_string(r + 1) + "?"
                                              : "What is the number in row " + std::to_string(r + 1) + " of the table?";
                qas.push_back(makeQa(q, std::to_string(rows[r].second), Task::TableNumber, tablePx,
                                     QRectF(amountX, ry, tableW - (amountX - page.left()), rowH)));
            }
        }
        if (grid) {
            p.setPen(QPen(QColor(120, 120, 130), std::max(1.0, tablePx / 14.0)));
            p.setBrush(Qt::NoBrush);
            p.drawRect(QRectF(page.left(), y, tableW, tableH));
            p.drawLine(QPointF(amountX, y), QPointF(amountX, y + tableH));
        }
        y += tableH + tablePx;
    }
    fillerLines(p, rng, face, bodyPx, QRectF(page.left(), y, page.width(), std::max(0.0, page.bottom() - y)), y,
                rng.uniform(0, 20), nullptr, ink);
}

// Where a shape is, as a phrase completing "What colour is the shape ...?" (3x3 grid of the image).
const char *kRegionNames[3][3] = {{"in the top left corner", "at the top", "in the top right corner"},
                                  {"on the left", "in the centre", "on the right"},
                                  {"in the bottom left corner", "at the bottom", "in the bottom right corner"}};

void renderShapes(QPainter &p, Rng &rng, const Options &o, const QSize &size, std::vector<QA> &qas)
{
    (void)o;
    const double W = size.width(), H = size.height();
    p.fillRect(QRectF(0, 0, W, H), rng.pick(backgroundColours()));
    struct Shape
    {
        QRectF box;
        int colour;
    };
    std::vector<Shape> shapes;
    const int target = rng.uniform(2, 16);
    const double maxSize = std::max(6.0, std::min(W, H) / 4);
    for (int attempt = 0; attempt < target * 30 && static_cast<int>(shapes.size()) < target; ++attempt) {
        const double s = rng.logUniform(4.0, maxSize);
        const QRectF box(rng.uniformReal(0, W - s), rng.uniformReal(0, H - s), s, s);
        const QRectF padded = box.adjusted(-s * 0.2 - 2, -s * 0.2 - 2, s * 0.2 + 2, s * 0.2 + 2);
        bool clash = false;
        for (const Shape &other : shapes)
            clash = clash || padded.intersects(other.box);
        if (clash)
            continue;
        int colour = rng.uniform(0, static_cast<int>(paletteColours().size()) - 1);
        int same = 0;
        for (const Shape &other : shapes)
            same += other.colour == colour;
        if (same >= 9) // counts stay single digits
            continue;
        shapes.push_back({box, colour});
    }
    p.setRenderHint(QPainter::Antialiasing, true);
    for (const Shape &s : shapes) {
        const QColor c = paletteColours()[s.colour].colour;
        if (t_shapeLog) {
            TextItem item;
            item.text = paletteColours()[s.colour].name;
            item.pixelSize = s.box.height();
            item.x = static_cast<int>(std::floor(s.box.x()));
            item.y = static_cast<int>(std::floor(s.box.y()));
            item.width = static_cast<int>(std::ceil(s.box.width()));
            item.height = static_cast<int>(std::ceil(s.box.height()));
            t_shapeLog->push_back(std::move(item));
        }
        p.setPen(QPen(c.darker(150), std::max(1.0, s.box.width() / 20)));
        p.setBrush(c);
        switch (rng.uniform(0, 2)) {
        case 0:
            p.drawEllipse(s.box);
            break;
        case 1:
            p.drawRect(s.box);
            break;
        default: {
            QPolygonF tri;
            tri << QPointF(s.box.center().x(), s.box.top()) << s.box.bottomRight() << s.box.bottomLeft();
            p.drawPolygon(tri);
        }
        }
    }
    // Counting: one or two colours (sometimes one that is absent: answer 0).
    const int nCount = rng.uniform(1, 2);
    for (int q = 0; q < nCount; ++q) {
        const int colour = rng.uniform(0, static_cast<int>(paletteColours().size()) - 1);
        int count = 0;
        double smallest = 0;
        QRectF bounds;
        for (const Shape &s : shapes)
            if (s.colour == colour) {
                ++count;
                smallest = smallest == 0 ? s.box.height() : std::min(smallest, s.box.height());
                bounds = bounds.isNull() ? s.box : bounds.united(s.box);
            }
        if (count == 0) {
            for (const Shape &s : shapes)
                smallest = smallest == 0 ? s.box.height() : std::min(smallest, s.box.height());
            bounds = QRectF(0, 0, W, H);
        }
        const std::string question = std::string("How many ") + paletteColours()[colour].name + " shapes are there?";
        bool dup = false;
        for (const QA &existing : qas)
            dup = dup || existing.question == question;
        if (!dup)
            qas.push_back(makeQa(question, std::to_string(count), Task::CountShapes, smallest, bounds));
    }
    // Colour at a place: regions of a 3x3 grid holding exactly one shape centre.
    std::vector<std::pair<int, int>> single;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
            int n = 0;
            int which = -1;
            for (std::size_t i = 0; i < shapes.size(); ++i) {
                const QPointF ctr = shapes[i].box.center();
                if (static_cast<int>(ctr.x() * 3 / W) == c && static_cast<int>(ctr.y() * 3 / H) == r) {
                    ++n;
                    which = static_cast<int>(i);
                }
            }
            if (n == 1)
                single.emplace_back(r * 3 + c, which);
        }
    rng.shuffle(single);
    for (std::size_t k = 0; k < std::min<std::size_t>(2, single.size()); ++k) {
        const auto [region, idx] = single[k];
        const Shape &s = shapes[idx];
        qas.push_back(makeQa(std::string("What colour is the shape ") + kRegionNames[region / 3][region % 3] + "?",
                             paletteColours()[s.colour].name, Task::ShapeColour, s.box.height(), s.box));
    }
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::string Options::validate() const
{
    if (minSide < 64)
        return "minSide must be >= 64";
    if (maxSide < minSide)
        return "maxSide must be >= minSide";
    if (maxSide > 8192)
        return "maxSide must be <= 8192";
    if (!(maxAspect >= 1.0 && maxAspect <= 10.0))
        return "maxAspect must be between 1 and 10";
    if (minText < 3 || maxText < minText || maxText > 256)
        return "text sizes must satisfy 3 <= minText <= maxText <= 256";
    return {};
}

std::vector<std::string> ensureFonts(Split split)
{
    std::vector<std::string> names;
    for (const Face &f : facesFor(split))
        names.push_back(f.family.toStdString() + (f.bold ? " Bold" : ""));
    return names;
}

Sample generate(Family family, std::uint64_t seed, const Options &options)
{
    if (const std::string why = options.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, "synthetic data options: " + why, "options");
    if (seed >= kMaxSeed)
        throw Error(ErrorCode::InvalidArgument,
                    "synthetic data seed " + std::to_string(seed) + " is out of range (must be < 1e12)", "seed");
    if (family != Family::Window && family != Family::Document && family != Family::Shapes)
        throw Error(ErrorCode::InvalidArgument, "unknown synthetic data family", "family");

    const std::vector<Face> &faces = facesFor(options.split);
    Rng rng(mixSeed(options.split, family, seed));
    const QSize size = drawImageSize(rng, options, family == Family::Document ? 0.7 : 0.35);

    Sample sample;
    sample.family = family;
    sample.split = options.split;
    sample.seed = seed;
    QImage canvas(size, QImage::Format_RGB32);
    canvas.fill(Qt::white);
    {
        // Record every drawn text into sample.texts (reset even if a renderer throws).
        struct LogScope
        {
            LogScope(std::vector<TextItem> *texts, std::vector<TextItem> *shapes)
            {
                t_textLog = texts;
                t_shapeLog = shapes;
            }
            ~LogScope() { t_textLog = t_shapeLog = nullptr; }
        } logScope(&sample.texts, &sample.shapes);
        QPainter p(&canvas);
        p.setRenderHint(QPainter::Antialiasing, true);
        p.setRenderHint(QPainter::TextAntialiasing, true);
        switch (family) {
        case Family::Window:
            renderWindow(p, rng, options, size, faces, sample.qas);
            break;
        case Family::Document:
            renderDocument(p, rng, options, size, faces, sample.qas);
            break;
        case Family::Shapes:
            renderShapes(p, rng, options, size, sample.qas);
            break;
        }
    }
    sample.image = canvas.convertToFormat(QImage::Format_RGB888);
    return sample;
}

Sample generate(std::uint64_t seed, const Options &options)
{
    if (seed >= kMaxSeed)
        throw Error(ErrorCode::InvalidArgument,
                    "synthetic data seed " + std::to_string(seed) + " is out of range (must be < 1e12)", "seed");
    Rng rng(seed ^ 0xA5A5A5A5DEADBEEFULL);
    const auto families = allFamilies();
    return generate(families[rng.next() % families.size()], seed, options);
}

QA unanswerableQa(const Sample &sample, std::uint64_t pick)
{
    auto has = [&](const std::string &question) {
        return std::any_of(sample.qas.begin(), sample.qas.end(),
                           [&](const QA &qa) { return qa.question == question; });
    };
    std::vector<std::pair<std::string, Task>> options;
    const std::string row = std::to_string(1 + (pick >> 8) % 6);
    const char *colour = paletteColours()[(pick >> 16) % paletteColours().size()].name;
    if (sample.family != Family::Window) { // only windows have a title bar, buttons and dialogs
        options.emplace_back("What is the window title?", Task::WindowTitle);
        options.emplace_back(std::string("What does the ") + colour + " button say?", Task::ButtonLabel);
        options.emplace_back("What is the dialog title?", Task::WindowTitle);
    } else if (!has("What is the dialog title?")) {
        options.emplace_back("What is the dialog title?", Task::WindowTitle);
    }
    if (sample.family != Family::Document) { // only documents have headings and tables
        options.emplace_back("What is the number in row " + row + " of the table?", Task::TableNumber);
        options.emplace_back("What is the heading?", Task::Heading);
    }
    const auto &[question, task] = options[pick % options.size()];
    QA qa;
    qa.question = question;
    qa.answer = kNotShownAnswer;
    qa.task = task;
    return qa;
}

std::string readingOrderText(const std::vector<TextItem> &texts, double scale, double minPixelSize, int maxWords)
{
    std::vector<const TextItem *> legible;
    for (const TextItem &t : texts)
        if (t.pixelSize * scale >= minPixelSize && !t.text.empty())
            legible.push_back(&t);
    // Reading order: by line (vertical centres closer than half the taller line's height share a line, a greedy
    // sweep from the top), then left to right within a line.
    std::stable_sort(legible.begin(), legible.end(), [](const TextItem *a, const TextItem *b) {
        return a->y + a->height / 2.0 < b->y + b->height / 2.0;
    });
    std::vector<std::vector<const TextItem *>> lines;
    double lineCentre = 0, lineHeight = 0;
    for (const TextItem *t : legible) {
        const double c = t->y + t->height / 2.0;
        if (lines.empty() || c - lineCentre > 0.5 * std::max<double>(lineHeight, t->height)) {
            lines.emplace_back();
            lineCentre = c;
            lineHeight = t->height;
        }
        lines.back().push_back(t);
    }
    std::string out;
    int words = 0;
    for (auto &line : lines) {
        std::stable_sort(line.begin(), line.end(), [](const TextItem *a, const TextItem *b) { return a->x < b->x; });
        for (const TextItem *t : line) {
            std::istringstream in(t->text);
            for (std::string w; in >> w;) {
                if (words == maxWords)
                    return out;
                out += (out.empty() ? "" : " ") + w;
                ++words;
            }
        }
    }
    return out;
}

std::string familyName(Family family)
{
    switch (family) {
    case Family::Window:
        return "window";
    case Family::Document:
        return "document";
    case Family::Shapes:
        return "shapes";
    }
    return "unknown";
}

std::optional<Family> familyFromName(std::string_view name)
{
    for (Family f : allFamilies())
        if (familyName(f) == name)
            return f;
    return std::nullopt;
}

std::vector<Family> allFamilies() { return {Family::Window, Family::Document, Family::Shapes}; }

std::string taskName(Task task)
{
    switch (task) {
    case Task::WindowTitle:
        return "window-title";
    case Task::ButtonLabel:
        return "button-label";
    case Task::Highlighted:
        return "highlighted-word";
    case Task::TableNumber:
        return "table-number";
    case Task::Heading:
        return "heading";
    case Task::CountShapes:
        return "count-shapes";
    case Task::ShapeColour:
        return "shape-colour";
    }
    return "unknown";
}

bool isReadingTask(Task task) { return task != Task::CountShapes && task != Task::ShapeColour; }

std::string splitName(Split split)
{
    switch (split) {
    case Split::Train:
        return "train";
    case Split::Validation:
        return "validation";
    case Split::HeldOut:
        return "heldout";
    }
    return "unknown";
}

std::optional<Split> splitFromName(std::string_view name)
{
    for (Split s : {Split::Train, Split::Validation, Split::HeldOut})
        if (splitName(s) == name)
            return s;
    return std::nullopt;
}

const std::vector<std::string> &words()
{
    // Short, common interface and office words; a closed list keeps answers learnable by a tiny model and
    // exact match meaningful.
    static const std::vector<std::string> w = {
        "Open",    "Save",    "Close",   "Cancel",  "Apply",   "Delete",  "Rename",  "Print",   "Export",  "Import",
        "Search",  "Filter",  "Sort",    "Share",   "Upload",  "Reload",  "Start",   "Stop",    "Pause",   "Resume",
        "Next",    "Back",    "Finish",  "Help",    "Login",   "Logout",  "Submit",  "Reset",   "Clear",   "Undo",
        "Redo",    "Copy",    "Paste",   "Zoom",    "Rotate",  "Crop",    "Merge",   "Split",   "Send",    "Reply",
        "Invoice", "Report",  "Budget",  "Orders",  "Notes",   "Tasks",   "Music",   "Photos",  "Files",   "Mail",
        "Calendar", "Contacts", "Settings", "Network", "Storage", "Backup", "Editor",  "Viewer",  "Player",  "Console",
        "Account", "Profile", "Project", "Library", "Gallery", "Monitor", "Weather", "Travel",  "Garden",  "Kitchen",
        "Apple",   "Banana",  "Cherry",  "Lemon",   "Mango",   "Orange",  "Grape",   "Melon",   "Peach",   "Plum",
        "Coffee",  "Tea",     "Bread",   "Butter",  "Cheese",  "Milk",    "Rice",    "Pasta",   "Salad",   "Soup",
        "River",   "Forest",  "Desert",  "Island",  "Harbor",  "Bridge",  "Castle",  "Tower",   "Market",  "Station",
        "Alpha",   "Beta",    "Gamma",   "Delta",   "Omega",   "Sigma",   "Kappa",   "Zeta",    "Theta",   "Lambda",
        "North",   "South",   "East",    "West",    "Summer",  "Winter",  "Spring",  "Autumn",  "Monday",  "Friday",
    };
    return w;
}

const std::vector<std::string> &colourNames()
{
    static const std::vector<std::string> c = [] {
        std::vector<std::string> out;
        for (const NamedColour &nc : paletteColours())
            out.emplace_back(nc.name);
        return out;
    }();
    return c;
}

std::string corpusText(int lines)
{
    Rng rng(0xC0FFEE);
    std::ostringstream out;
    // Every word and number at least once, so the tokenizer never has to spell vocabulary answers by bytes.
    for (const std::string &w : words())
        out << w << '\n';
    for (int n = 0; n <= 999; ++n)
        out << n << '\n';
    for (const std::string &c : colourNames())
        out << c << '\n';
    for (const std::string &m : menuWords())
        out << m << '\n';
    out << "Item Amount\n";
    for (int i = 0; i < lines; ++i) {
        switch (rng.uniform(0, 8)) {
        case 0:
            out << "What is the window title? " << titleText(rng, 2) << '\n';
            break;
        case 1:
            out << "What does the " << rng.pick(colourNames()) << " button say? " << rng.pick(words()) << '\n';
            break;
        case 2:
            out << "Which word is highlighted? " << rng.pick(words()) << '\n';
            break;
        case 3:
            out << "What is the number in row " << rng.uniform(1, 9) << " of the table? " << rng.uniform(1, 999) << '\n';
            break;
        case 4:
            out << "What is the amount on line " << rng.uniform(1, 9) << "? " << rng.uniform(1, 999) << '\n';
            break;
        case 5:
            out << "How many " << rng.pick(colourNames()) << " shapes are there? " << rng.uniform(0, 9) << '\n';
            break;
        case 6: {
            const int r = rng.uniform(0, 8);
            out << "What colour is the shape " << kRegionNames[r / 3][r % 3] << "? " << rng.pick(colourNames())
                << '\n';
            break;
        }
        case 7:
            out << "What is the heading? What is the dialog title? " << titleText(rng, 2) << '\n';
            break;
        default: {
            const int n = rng.uniform(3, 10);
            for (int k = 0; k < n; ++k)
                out << (k ? " " : "") << (rng.chance(0.2) ? std::to_string(rng.uniform(1, 999)) : rng.pick(words()));
            out << '\n';
        }
        }
    }
    return out.str();
}

std::string sizeBucket(double h)
{
    if (h < 8)
        return "<8px";
    if (h < 10)
        return "8-10px";
    if (h < 16)
        return "10-16px";
    if (h < 32)
        return "16-32px";
    return ">=32px";
}

std::vector<std::string> sizeBuckets() { return {"<8px", "8-10px", "10-16px", "16-32px", ">=32px"}; }

bool answersMatch(std::string_view predicted, std::string_view expected)
{
    return lower(trim(predicted)) == lower(trim(expected));
}

} // namespace uhdlens::synth
