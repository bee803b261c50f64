// UHD Lens — synthetic training and evaluation data for the bundled model (no torch).
//
//     uhdlens::synth::Options opt;                       // split Train, sides 200..2500, aspect 1:5..5:1
//     uhdlens::synth::Sample s = uhdlens::synth::generate(uhdlens::synth::Family::Window, 42, opt);
//     // s.image: Format_RGB888; s.qas: questions with exact answers and the height of the detail they read
//
// Every image is rendered with QPainter from a seed alone: the same (family, seed, options) gives the same
// pixels and the same questions on every run and machine with the same fonts, because the fonts are loaded
// from explicit files under /usr/share/fonts (the Debian packages installer/install-deps.sh installs), never
// picked by fontconfig. Training uses DejaVu and Liberation faces; the held-out split renders all text in
// Noto Sans CJK's Latin glyphs, a face never seen in training, and draws its seeds from a separate range.
//
// Families (matching what people point the app at):
//   Window   — a screenshot-like application window: title bar, menu bar, labels, coloured buttons, a
//              highlighted field, sometimes a dialog. Questions: the window title, the label of the <colour>
//              button, the highlighted word.
//   Document — a document page or a receipt: heading, lines of words and numbers, a table. Questions: the
//              number in row r of the table, the highlighted word, the heading.
//   Shapes   — circles, squares and triangles of several colours and sizes, some tiny. Questions: how many
//              <colour> shapes there are, the colour of the shape in a named part of the image.
// Answers come from a closed vocabulary (words(), colours, numbers), so exact match is a fair metric.
//
// Threading: generate() may run on any thread (QImage painting is thread-safe for raster images), but a
// QGuiApplication must exist (Qt's font database needs it); ensureFonts() registers the font files once and is
// safe to call concurrently. Errors: uhdlens::Error(InvalidArgument) for bad options or seeds,
// Error(FileNotFound) when a font file is missing (run installer/install-deps.sh).
#pragma once

#include <QImage>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens::synth {

enum class Family { Window, Document, Shapes };

enum class Task {
    WindowTitle,   // "What is the window title?"
    ButtonLabel,   // "What does the blue button say?"
    Highlighted,   // "Which word is highlighted?"
    TableNumber,   // "What is the number in row 3 of the table?"
    Heading,       // "What is the heading?"
    CountShapes,   // "How many red shapes are there?"
    ShapeColour,   // "What colour is the shape in the top left?"
};

// Train: seeds drawn by the trainer; Validation: other seeds, training fonts; HeldOut: other seeds and a font
// never used in training. Each split maps seed s (0 <= s < kMaxSeed) into its own disjoint stream.
enum class Split { Train, Validation, HeldOut };

inline constexpr std::uint64_t kMaxSeed = 1'000'000'000'000ULL; // 1e12 seeds per split

struct Options
{
    Split split = Split::Train;
    int minSide = 200;       // every side of the image is within [minSide, maxSide]
    int maxSide = 2500;
    double maxAspect = 5.0;  // long side / short side <= maxAspect
    // Text heights (font pixel size, the CSS "px") are drawn log-uniformly from [minText, maxText], clipped so
    // that the text still fits the image.
    int minText = 5;
    int maxText = 64;
    // Empty if usable, else the reason ("minSide must be >= 64", ...).
    std::string validate() const;
};

struct QA
{
    std::string question;
    std::string answer;
    Task task = Task::WindowTitle;
    // Height in original-image pixels of the detail the question is about: the font pixel size for reading
    // tasks, the shape's bounding-box height for shape tasks (for counting: the smallest shape counted).
    double detailHeight = 0;
    // Where the detail is, in original-image pixels (for debugging and the README's example overlays).
    int x = 0, y = 0, width = 0, height = 0;
};

// One run of text the generator drew (a word, a title, a table cell, a button label), for dense reading
// supervision: the trainer can ask the model to read out the legible ones in reading order (readingOrderText).
struct TextItem
{
    std::string text;
    double pixelSize = 0;          // font pixel size in original-image pixels
    int x = 0, y = 0, width = 0, height = 0; // bounding box in original-image pixels
    // Texts only: the pen's advance after each byte of `text` (ASCII), in original-image pixels from x, so
    // character i spans [charEnds[i-1], charEnds[i]) horizontally (per-character supervision). Empty for
    // shapes.
    std::vector<float> charEnds;
};

struct Sample
{
    Family family = Family::Window;
    Split split = Split::Train;
    std::uint64_t seed = 0;
    QImage image; // Format_RGB888
    std::vector<QA> qas;
    std::vector<TextItem> texts; // every visible text item (items a dialog covers are dropped), drawing order
    std::vector<TextItem> shapes; // Shapes family: every shape drawn, text = its colour name, pixelSize = its height
};

// The question of the dense reading turn and its answer: the texts at least `minPixelSize` high (after scaling
// by `scale`, e.g. the planner's resize factor), in reading order (lines top to bottom, each left to right),
// joined by spaces, at most `maxWords` words. Empty when nothing qualifies.
inline constexpr const char *kReadTextQuestion = "Read the text.";

// The answer to a question the image cannot answer (as the real-screenshot set's "not_shown_answer").
inline constexpr const char *kNotShownAnswer = "not shown";
// A question of the generator's kinds that `sample` cannot answer, answered kNotShownAnswer: another
// family's question (the window title of a document, the table of a shape scene), or a dialog title where no
// dialog is drawn. Only what the family never draws is asked (a covered button could still show an edge, so
// button colours are asked only of families without buttons). `pick` chooses among them. Task and box are
// the template's task and an empty box.
QA unanswerableQa(const Sample &sample, std::uint64_t pick);
std::string readingOrderText(const std::vector<TextItem> &texts, double scale, double minPixelSize, int maxWords);

// Renders one sample. Throws Error(InvalidArgument) when options are invalid or seed >= kMaxSeed.
Sample generate(Family family, std::uint64_t seed, const Options &options = {});
// Picks the family from the seed (uniformly), then renders.
Sample generate(std::uint64_t seed, const Options &options = {});

// Registers the font files of `split` with QFontDatabase (once) and returns their family names in a fixed
// order. Throws Error(FileNotFound) naming the missing file.
std::vector<std::string> ensureFonts(Split split);

std::string familyName(Family family);                          // "window", "document", "shapes"
std::optional<Family> familyFromName(std::string_view name);   // nullopt for unknown names
std::vector<Family> allFamilies();
std::string taskName(Task task);                                // "window-title", ...
bool isReadingTask(Task task);                                  // the answer is text read from the image
std::string splitName(Split split);                             // "train", "validation", "heldout"
std::optional<Split> splitFromName(std::string_view name);

// The closed vocabulary the generator draws text from; the tokenizer is trained on corpusText().
const std::vector<std::string> &words();
const std::vector<std::string> &colourNames();
// A deterministic text covering every word, number, colour, question and answer pattern the generator emits
// (one sentence per line), for training the tokenizer.
std::string corpusText(int lines = 20000);

// Size bucket of a detail height, for per-size accuracy: "<8px", "8-10px", "10-16px", "16-32px", ">=32px".
std::string sizeBucket(double detailHeight);
std::vector<std::string> sizeBuckets();

// Answers are compared trimmed and case-insensitively (the answers are single words or numbers).
bool answersMatch(std::string_view predicted, std::string_view expected);

} // namespace uhdlens::synth
