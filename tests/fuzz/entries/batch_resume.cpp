// Fuzz entry: the batch resume reader (uhdlens/batch.h), which reads whatever file `uhdlens-cli batch
// --resume
// --out FILE` is pointed at. The first byte picks the format (JSON lines, CSV, Markdown), the rest is the
// file.
#include "fuzz_entries.h"

#include "uhdlens/batch.h"
#include "uhdlens/errors.h"

bool fuzz_batch_resume(const uint8_t *data, size_t size)
{
    using namespace uhdlens::batch;
    if (size == 0)
        return false;
    const Format format = static_cast<Format>(data[0] % 3);
    const std::string path = uhdlens::fuzz::scratchDir() + "/out" + formatExtension(format);
    uhdlens::fuzz::writeFile(path, data + 1, size - 1);
    try {
        const Existing e = readExisting(path, format);
        FUZZ_CHECK(e.totalBytes == size - 1 && e.validBytes <= e.totalBytes);
        FUZZ_CHECK(e.failed.size() <= e.files.size());
        // What --resume does next: cut a cut-off record, append one. The file must stay one the reader
        // accepts, with exactly that record more.
        const RunSettings settings = e.settings.value_or(RunSettings{});
        Record r;
        r.file = "/fuzz/appended | \"x\", `y`\n.png";
        r.answer = "a|b,\"c\"\r\n`d` <br> \\";
        Writer::resume(path, format, settings, e)->append(r);
        const Existing after = readExisting(path, format);
        FUZZ_CHECK(after.files.size() == e.files.size() + 1 && after.files.back() == r.file);
        FUZZ_CHECK(after.validBytes == after.totalBytes);
        return true;
    } catch (const uhdlens::Error &err) {
        FUZZ_CHECK(err.code() == uhdlens::ErrorCode::InvalidArgument);
        return false;
    }
}
