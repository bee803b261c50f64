// Replays every committed fuzz input (tests/fuzz/<target>/corpus/ and regressions/) through the entry
// function its libFuzzer target calls (tests/fuzz/entries/), in the normal gcc build. An entry returns
// normally when the input is accepted or refused with a typed uhdlens::Error; any other exception fails here,
// and a crash or a broken invariant (FUZZ_CHECK aborts) fails the test executable. regressions/ holds the
// inputs that once crashed: each is a fix's regression test.
#include "fuzz_entries.h"

#include "tokenizer.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>

#include <malloc.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define UHDLENS_FUZZ_ENTRY(name) bool fuzz_##name(const uint8_t *data, size_t size);
#include "fuzz_entries.inc"
#undef UHDLENS_FUZZ_ENTRY

namespace {

namespace fs = std::filesystem;

struct Target
{
    const char *name;
    bool (*entry)(const uint8_t *, size_t);
};

const std::vector<Target> &targets()
{
#define UHDLENS_FUZZ_ENTRY(name) {#name, &fuzz_##name},
    static const std::vector<Target> all = {
#include "fuzz_entries.inc"
    };
#undef UHDLENS_FUZZ_ENTRY
    return all;
}

std::vector<fs::path> filesIn(const fs::path &dir)
{
    std::vector<fs::path> out;
    if (fs::is_directory(dir))
        for (const auto &e : fs::directory_iterator(dir))
            if (e.is_regular_file())
                out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

struct Counts
{
    int accepted = 0, refused = 0;
};

// Runs each file; returns how many were accepted / refused. A non-uhdlens exception is a test failure naming
// the target and the file.
Counts replay(const Target &t, const std::vector<fs::path> &files)
{
    Counts c;
    for (const fs::path &f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        std::fprintf(stderr, "[ fuzz ] %s: %s\n", t.name,
                     f.filename().c_str()); // names the file if it aborts
        try {
            (t.entry(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()) ? c.accepted
                                                                                    : c.refused)++;
        } catch (const std::exception &e) {
            ADD_FAILURE() << "fuzz target " << t.name << ", input " << f
                          << ": untyped exception escaped: " << e.what();
        } catch (...) {
            ADD_FAILURE() << "fuzz target " << t.name << ", input " << f << ": unknown exception escaped";
        }
    }
    return c;
}

const fs::path kFuzzDir = UHDLENS_FUZZ_DIR;

TEST(FuzzReplay, EveryTargetHasSeedsAndTheyRun)
{
    ASSERT_FALSE(targets().empty());
    for (const Target &t : targets()) {
        const auto seeds = filesIn(kFuzzDir / t.name / "corpus");
        EXPECT_FALSE(seeds.empty()) << "fuzz target " << t.name << " has no seed corpus";
        const Counts c = replay(t, seeds);
        // The seeds are chosen to reach the parsers' accepting paths, not only their refusals.
        EXPECT_GT(c.accepted, 0) << "fuzz target " << t.name << ": no seed is accepted";
    }
}

TEST(FuzzReplay, RegressionInputsGiveTypedErrorsOrSuccess)
{
    int total = 0;
    for (const Target &t : targets()) {
        const auto files = filesIn(kFuzzDir / t.name / "regressions");
        replay(t, files);
        total += static_cast<int>(files.size());
    }
    EXPECT_GT(total, 0) << "no regression inputs under " << kFuzzDir;
}

// Each crash fuzzing found, with what it must give now (not just "no crash").
TEST(FuzzReplay, FoundCrashesNowRefuseCleanly)
{
    struct Case
    {
        const char *target, *file;
    };
    for (const Case c :
         {Case{"safetensors_index", "number-overflow-406"}, Case{"safetensors_header", "number-overflow-406"},
          Case{"model_folder", "number-overflow-406-config"},
          Case{"model_folder", "number-overflow-406-processor"}, Case{"image", "png-declared-size-overflow"},
          Case{"gguf_header", "empty-tensor-hides-overlap"},
          Case{"bpe_tokenizer", "token-id-far-past-entries"}}) {
        const auto it = std::find_if(targets().begin(), targets().end(),
                                     [&](const Target &t) { return std::string(t.name) == c.target; });
        ASSERT_NE(it, targets().end()) << c.target;
        const fs::path f = kFuzzDir / c.target / "regressions" / c.file;
        ASSERT_TRUE(fs::exists(f)) << f;
        const Counts n = replay(*it, {f});
        EXPECT_EQ(n.refused, 1) << c.target << "/" << c.file << " must be refused with a typed error";
    }
}

// The PNG declaring 4261281277 x 4261281277 (libpng refuses sides over 1,000,000, so only our sniffed IHDR
// size speaks): its pixel count overflowed int64 (UB; in practice a negative count that passed the limit and
// was then reported as a damaged file). It is a decompression bomb and must be named one.
TEST(FuzzReplay, HugeDeclaredPngIsTooLargeNotTruncated)
{
    std::ifstream in(kFuzzDir / "image" / "regressions" / "png-declared-size-overflow", std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_GE(bytes.size(), 24u);
    try {
        uhdlens::loadImageData(QByteArray::fromStdString(bytes));
        FAIL() << "image stage: the 4261281277^2 PNG was accepted";
    } catch (const uhdlens::Error &e) {
        EXPECT_EQ(e.code(), uhdlens::ErrorCode::ImageTooLarge) << "image stage: " << e.what();
    }
}

// A tokenizer.model on which sentencepiece's LoadFromSerializedProto throws: the shim leaked its half-built
// model
// (~1 KB) every time (LeakSanitizer in the fuzz build). Without LSan here, the heap in use must not grow over
// repeated refusals.
TEST(FuzzReplay, RefusedTokenizerLeaksNothing)
{
    const fs::path input = kFuzzDir / "tokenizer" / "regressions" / "leak-load-throws";
    std::ifstream in(input, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_FALSE(bytes.empty()) << input;
    const std::string path = uhdlens::fuzz::scratchDir() + "/leak.model";
    uhdlens::fuzz::writeFile(path, bytes.data(), bytes.size());
    auto refuse = [&] {
        try {
            uhdlens::Tokenizer::load(path);
            ADD_FAILURE() << "tokenizer stage: " << input << " was accepted";
        } catch (const uhdlens::Error &e) {
            EXPECT_EQ(e.code(), uhdlens::ErrorCode::TokenizerInvalid) << "tokenizer stage: " << e.what();
        }
    };
    refuse(); // the shim is opened on first use
    const auto before = static_cast<long long>(mallinfo2().uordblks);
    constexpr int kLoads = 300;
    for (int i = 0; i < kLoads; ++i)
        refuse();
    const long long grown = static_cast<long long>(mallinfo2().uordblks) - before;
    EXPECT_LT(grown, 64 * 1024) << "tokenizer stage: heap grew by " << grown << " bytes over " << kLoads
                                << " refused loads";
}

} // namespace
