// Internal (torch-free): the image span of a prompt — the visual-token slots of a plan with the separators and
// special tokens between them — described once per token layout. The families' buildPrompt lays it out through
// PromptBuilder (models/family_common.h) and imagePositions() (uhdlens/model_facts.h) counts it through
// PositionCounter, so the count shown before a model loads and the prompt the model receives come from the same
// code (llama.cpp's mtmd_input_chunk_get_n_tokens answers from the chunks mtmd_tokenize built, likewise).
// Only core .cpp files and tests include it.
#pragma once

#include "uhdlens/slice_planner.h"

#include <string>
#include <string_view>
#include <vector>

namespace uhdlens {

// Receives the items of an image span in prompt order.
class ImageSpanSink
{
public:
    virtual ~ImageSpanSink() = default;
    // Encoded image `index` of the plan (0 = overview, then slices row-major): tokensPerImage positions.
    virtual void image(int index) = 0;
    // One vocabulary piece, the first of `spellings` the tokenizer knows (e.g. {",", "<0x2C>"}): one position.
    virtual void piece(const std::vector<std::string> &spellings) = 0;
    // Text encoded as a chunk of its own. `knownPositions`: what it costs under the family's reference tokenizer,
    // for counting without one (a loaded model counts with its own tokenizer instead).
    virtual void text(std::string_view text, int knownPositions) = 0;
};

// Lays out the image span of `plan` in `layout` (§4.1-§4.4 of the spec); nothing for an empty plan.
// `imageIndex`: the image's index in its prompt, written into MiniCPM-V 2.6's <image_id>N</image_id> (the
// processor's image_idx); other layouts ignore it.
void layImageSpan(TokenLayout layout, const SlicePlan &plan, ImageSpanSink &sink, int imageIndex = 0);

} // namespace uhdlens
