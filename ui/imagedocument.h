// UHD Lens UI — one opened image with its own conversation (what the thumbnail strip lists).
#pragma once

#include "uhdlens/slice_planner.h"

#include <QDateTime>
#include <QImage>
#include <QRect>
#include <QString>

#include <optional>
#include <vector>

namespace uhdlens::ui {

// Where one answer stands (as GPT4All's Chat::ResponseState); the session moves it forward, never back.
enum class AnswerState
{
    Queued,    // asked; waiting for the engine (behind other requests or a model load)
    Encoding,  // the engine took it: encoding the image (or taking its tokens from the cache)
    Answering, // text is streaming in
    Finished,  // ended by itself (end of sequence, stop string, token limit)
    Stopped,   // cancelled: Stop, a model switch, or its image closed
    Failed,    // ended with an error (AnswerRecord::error)
};

// One answer as the chat panel shows it; filled while tokens stream in.
struct AnswerRecord
{
    quint64 requestId = 0;
    QString policyName;   // the slicing policy it was asked with (A/B: "llava15" for the baseline)
    QString text;
    AnswerState state = AnswerState::Queued;
    bool fromCache = false; // image tokens reused from an earlier question
    QString error;          // translated error text, empty on success
    QString stopReason;
    int imageTokens = 0;
    int promptTokens = 0;
    int generatedTokens = 0;
    int encodedImages = 0;  // overview + slices encoded this turn (0 when cached)
    double encodeMs = 0;
    double totalMs = 0;     // wall time from request to last token, measured by the UI
    double decodeTokensPerSecond = 0;
    SlicePlan plan;         // the plan the engine actually used
    bool hasPlan = false;

    bool finished() const { return state >= AnswerState::Finished; } // no more text will come
    bool cancelled() const { return state == AnswerState::Stopped; }
};

struct ChatTurn
{
    QString question;
    QDateTime askedAt;
    AnswerRecord answer;
    std::optional<AnswerRecord> baseline; // A/B mode: the same question with the llava15 plan
};

struct ImageDocument
{
    int id = 0;
    QString title;       // file name, or "Pasted image 1"
    QString path;        // empty for pasted / captured images
    QImage image;        // Format_RGB888, EXIF-oriented
    QImage preview;      // <= 2048 px on the long side for huge images (made off-thread), else null
    std::optional<QRect> region; // a selected crop (image coordinates); plans and questions use it when set
    std::vector<ChatTurn> turns;

    Size size() const { return {image.width(), image.height()}; }
    // The pixels the model is asked about: the region crop when one is selected, else the whole image.
    QImage subject() const { return region ? image.copy(*region) : image; }
    QRect subjectRect() const { return region ? *region : image.rect(); }
};

} // namespace uhdlens::ui
