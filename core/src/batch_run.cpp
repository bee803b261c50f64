// The batch loop (uhdlens/batch.h): one image through the model, and a whole run over the inputs with its writer.
// Kept apart from batch.cpp (inputs, formats, resuming, writing), which needs no engine, so the fuzz target of
// the resume reader links without libtorch.
#include "uhdlens/batch.h"

#include "uhdlens/image_io.h"

#include <chrono>

namespace uhdlens::batch {

// --- running --------------------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

Record errorRecord(const Input &input)
{
    Record r;
    r.file = input.path;
    r.status = Status::Error;
    r.errorCode = errorCodeName(input.code);
    r.error = input.error;
    return r;
}

std::optional<Record> processImage(const std::shared_ptr<const Model> &model, const std::string &path,
                                   const Job &job, const std::atomic<bool> *cancel)
{
    Record r;
    r.file = path;
    const auto t0 = Clock::now();
    try {
        const QString qpath = QString::fromStdString(path);
        const ImageInfo info = probeImage(qpath);
        r.format = info.format.toStdString();
        const QImage image = loadImage(qpath);
        r.width = image.width();
        r.height = image.height();
        r.readMs = msSince(t0);

        const auto tPlan = Clock::now();
        const SlicePlan plan = model->plan({image.width(), image.height()}, job.policy);
        r.policy = plan.policy.name();
        r.gridCols = plan.grid ? plan.grid->cols : 0;
        r.gridRows = plan.grid ? plan.grid->rows : 0;
        r.slices = plan.sliceCount();
        r.visualTokens = model->imagePositions(plan);
        r.planMs = msSince(tPlan);

        Conversation chat(model); // a fresh conversation: no image or history carries over
        chat.setImage(image, plan, path);
        AskCallbacks cb;
        cb.cancel = cancel;
        const AskResult a = chat.ask(job.question, job.generation, cb);
        if (a.cancelled)
            return std::nullopt;
        r.answer = a.answer;
        r.stopReason = nameOf(a.stopReason);
        r.promptTokens = a.promptTokens;
        r.generatedTokens = a.generatedTokens;
        r.encodeMs = a.encodeMs;
        r.prefillMs = a.prefillMs;
        r.decodeMs = a.decodeMs;
    } catch (const Error &e) {
        r.status = Status::Error;
        r.errorCode = errorCodeName(e.code());
        r.error = e.what();
    } catch (const std::exception &e) { // e.g. std::bad_alloc on a huge image: one record, the run goes on
        r.status = Status::Error;
        r.errorCode = errorCodeName(ErrorCode::Internal);
        r.error = e.what();
    }
    r.totalMs = msSince(t0);
    return r;
}

RunSummary run(const std::shared_ptr<const Model> &model, const std::vector<Input> &inputs, const Job &job,
               Writer &writer, const RunCallbacks &callbacks)
{
    RunSummary summary;
    auto stopped = [&] { return callbacks.cancel && callbacks.cancel->load(); };
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Input &in = inputs[i];
        if (stopped()) {
            summary.interrupted = true;
            break;
        }
        if (callbacks.started)
            callbacks.started(i, in);
        const std::optional<Record> rec =
            in.error.empty() ? processImage(model, in.path, job, callbacks.cancel) : errorRecord(in);
        if (!rec) {
            summary.interrupted = true;
            break;
        }
        writer.append(*rec);
        ++summary.written;
        summary.failed += rec->status == Status::Error;
        if (callbacks.written)
            callbacks.written(i, *rec);
    }
    return summary;
}

} // namespace uhdlens::batch
