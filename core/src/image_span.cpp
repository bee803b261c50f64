// The image span of each token layout, and the tokenizer-free count of it (uhdlens/model_facts.h).
#include "image_span.h"

#include "uhdlens/model_facts.h"

namespace uhdlens {

namespace {

// MiniCPM-V 2.0 (modeling_minicpmv.py get_slice_image_placeholder, spec §4.3): <image> q x <unk> </image> for
// the overview; a sliced plan adds <slice> ... </slice> around the slices' <image>...</image>, rows joined by
// "\n". The official code joins the placeholders into the prompt text, and its tokenizer splits the text at the
// special pieces, so that "\n" is a chunk of its own: Llama's dummy-prefix SentencePiece spells it "▁" "<0x0A>".
void miniCpmV2(const SlicePlan &plan, ImageSpanSink &s)
{
    auto slot = [&](int index) {
        s.piece({"<image>"});
        s.image(index);
        s.piece({"</image>"});
    };
    slot(0);
    if (!plan.grid)
        return;
    s.piece({"<slice>"});
    for (int r = 0; r < plan.grid->rows; ++r) {
        if (r > 0)
            s.text("\n", /*knownPositions=*/2);
        for (int c = 0; c < plan.grid->cols; ++c)
            slot(1 + r * plan.grid->cols + c);
    }
    s.piece({"</slice>"});
}

// MiniCPM-V 2.6 (image_processing_minicpmv.py get_slice_image_placeholder with use_image_id, spec §4.4): the
// image id, the overview in <image>...</image>, then the slice rows, each cols x <slice>...</slice>, joined
// by "\n" with no outer wrapper. The processor tokenizes the whole text with Qwen2's byte-level BPE, whose added
// special tokens split it, so the id's digits and each "\n" are chunks of their own: one token per digit (the
// Qwen2 pre-tokenizer splits numbers into single digits) and one for "\n".
void miniCpmV26(const SlicePlan &plan, ImageSpanSink &s, int imageIndex)
{
    const std::string id = std::to_string(imageIndex);
    s.piece({"<image_id>"});
    s.text(id, static_cast<int>(id.size()));
    s.piece({"</image_id>"});
    s.piece({"<image>"});
    s.image(0);
    s.piece({"</image>"});
    if (!plan.grid)
        return;
    for (int r = 0; r < plan.grid->rows; ++r) {
        if (r > 0)
            s.text("\n", /*knownPositions=*/1);
        for (int c = 0; c < plan.grid->cols; ++c) {
            s.piece({"<slice>"});
            s.image(1 + r * plan.grid->cols + c);
            s.piece({"</slice>"});
        }
    }
}

// The spatial schema of §4.1/§4.2 (LLaVA-UHD llava_arch.py): slices row by row, "," between the slices of a
// row,
// "\n" after every row, then the overview. The release hard-codes ids 29892 (",") and 13 ("<0x0A>") of the
// Llama tokenizer; the same pieces are looked up by name (a byte-level BPE vocabulary, as SmolLM2's, spells
// the byte 0x0A "\u010A", GPT-2's printable stand-in for it).
void spatialSchema(const SlicePlan &plan, ImageSpanSink &s)
{
    if (plan.grid) {
        for (int r = 0; r < plan.grid->rows; ++r)
            for (int c = 0; c < plan.grid->cols; ++c) {
                s.image(1 + r * plan.grid->cols + c);
                if (c + 1 < plan.grid->cols)
                    s.piece({",", "<0x2C>"});
                else
                    s.piece({"<0x0A>", "\n", "\u010A"});
            }
    }
    s.image(0);
}

class PositionCounter : public ImageSpanSink
{
public:
    explicit PositionCounter(int tokensPerImage) : m_tokensPerImage(tokensPerImage) {}
    void image(int) override { m_positions += m_tokensPerImage; }
    void piece(const std::vector<std::string> &) override { m_positions += 1; }
    void text(std::string_view, int knownPositions) override { m_positions += knownPositions; }
    int positions() const { return m_positions; }

private:
    int m_tokensPerImage;
    int m_positions = 0;
};

} // namespace

void layImageSpan(TokenLayout layout, const SlicePlan &plan, ImageSpanSink &sink, int imageIndex)
{
    if (plan.encodedImages().empty())
        return;
    switch (layout) {
    case TokenLayout::MiniCpmV2: miniCpmV2(plan, sink); return;
    case TokenLayout::MiniCpmV26: miniCpmV26(plan, sink, imageIndex); return;
    case TokenLayout::LlavaUhdRelease:
    case TokenLayout::LlavaUhdPaper: spatialSchema(plan, sink); return;
    // LLaVA-1.5: the views side by side, no separators (one padded view in practice).
    case TokenLayout::Llava15:
        for (int i = 0; i < static_cast<int>(plan.encodedImages().size()); ++i)
            sink.image(i);
        return;
    }
}

int tokensPerImage(TokenLayout layout)
{
    switch (layout) {
    case TokenLayout::MiniCpmV2: return 64;        // query_num
    case TokenLayout::LlavaUhdRelease: return 144; // 12x12 spatially constrained queries
    case TokenLayout::LlavaUhdPaper: return 64;    // 8x8 shared perceiver queries
    case TokenLayout::Llava15: return 576;         // 24x24 patches, MLP projector, no compression
    case TokenLayout::MiniCpmV26: return 64;       // query_num
    }
    return 64;
}

int imagePositions(const SlicePlan &plan, TokenLayout layout, int perImage)
{
    PositionCounter counter(perImage > 0 ? perImage : tokensPerImage(layout));
    layImageSpan(layout, plan, counter);
    return counter.positions();
}

} // namespace uhdlens
