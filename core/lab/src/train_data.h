// Internal (lab): the data pipeline of training. Synthetic samples (synthdata.h) become model inputs and the
// targets of every loss (labels.h), rendered by one worker thread into a bounded queue, in stream order, so a
// run is reproducible and resumable.
#pragma once

#include "model_family.h"
#include "tokenizer.h"

#include "uhdlens/lab/labels.h"
#include "uhdlens/lab/synthdata.h"
#include "uhdlens/lab/training.h"

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace uhdlens::lab {

inline constexpr int64_t kIgnore = kIgnoredLabel; // targets no loss counts

// One image's training sequence: its pixels, the prompt and answers, and the targets of every loss.
struct Example
{
    torch::Tensor overview;             // [1, 3, H, W] normalised float32
    torch::Tensor slices;               // [N, 3, h, w] or undefined
    std::vector<int64_t> positions;     // prompt+answers, image slot j as -(1 + j) per visual position
    std::vector<int64_t> targets;       // next-token targets per position (kIgnore where unsupervised)
    std::vector<int64_t> regionTargets; // per position: what a visual token's box shows (kIgnore elsewhere)
    // Look loss: (position predicting an answer token, the visual positions whose boxes cover the place asked
    // about)
    std::vector<std::pair<int64_t, std::vector<int64_t>>> lookTargets;
    torch::Tensor glyphOverview; // [1, patches] glyph classes of the overview's patches (glyph loss only)
    torch::Tensor glyphSlices;   // [N, patches] the same for the slices, or undefined
    torch::Tensor glyphHeightsOverview,
        glyphHeightsSlices;         // labelled letters' size at model input (reporting)
    Prompt prompt;                  // the final prompt (for embedPrompt)
    std::vector<int64_t> answerIds; // appended after the prompt
    int encodedImages = 0;
    int earlierTurns = 0;      // turns before the last one
    int supervisedEarlier = 0; // of those, found verbatim in the prompt and supervised
};

// The generator's options of a training run (the Train split, the run's image and text sizes).
synth::Options trainingData(const TrainOptions &o);

// Renders sample `streamIndex` of the training stream and turns it into a training sequence of up to
// o.turnsPerImage QA turns (the full recipe's data). Earlier turns are supervised only where the family's
// multi-turn prompt is an exact extension of the single-turn one followed by the answer tokens (checked,
// never assumed). `endId`: the stop token the last answer ends with.
Example makeExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                    const synth::Options &dataOptions, std::uint64_t streamIndex, int64_t endId);

// Encoder warm-up example `index`: one crop (warmupRegion, warmupCrop) of a generated window or page, as
// pixels [1, 3, side, side] and glyph labels [1, patches] (Example's overview fields; no prompt). Each
// rendered image gives kWarmupCropsPerImage consecutive crops (rendering costs more than a crop's training
// step); `cache` keeps the last one.
Example makeWarmupExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                          const synth::Options &dataOptions, std::uint64_t streamIndex,
                          std::pair<std::uint64_t, synth::Sample> &cache);

// Bounded queue filled by one worker thread, in stream order (so a run is reproducible and resumable).
class DataQueue
{
public:
    DataQueue(std::function<Example(std::uint64_t)> make, std::uint64_t first, std::size_t capacity)
        : m_make(std::move(make)), m_next(first), m_capacity(capacity)
    {
        m_thread = std::thread([this] { run(); });
    }
    ~DataQueue()
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    Example pop()
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_items.empty() || m_error; });
        if (m_items.empty())
            std::rethrow_exception(m_error);
        Example e = std::move(m_items.front());
        m_items.pop_front();
        m_cv.notify_all();
        return e;
    }

private:
    void run()
    {
        try {
            for (;;) {
                {
                    std::unique_lock<std::mutex> lock(m_mutex);
                    m_cv.wait(lock, [this] { return m_stop || m_items.size() < m_capacity; });
                    if (m_stop)
                        return;
                }
                Example e = m_make(m_next++);
                std::lock_guard<std::mutex> lock(m_mutex);
                m_items.push_back(std::move(e));
                m_cv.notify_all();
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_error = std::current_exception();
            m_cv.notify_all();
        }
    }

    std::function<Example(std::uint64_t)> m_make;
    std::uint64_t m_next;
    std::size_t m_capacity;
    std::deque<Example> m_items;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::thread m_thread;
};

} // namespace uhdlens::lab
