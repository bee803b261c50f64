// Utf8Streamer (utf8_stream.h).
#include "utf8_stream.h"

namespace uhdlens {

namespace {

// Length of the UTF-8 sequence a lead byte announces; 0 for a byte that cannot start one.
int utf8Length(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

bool isContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Second-byte ranges that exclude overlongs, surrogates and code points past U+10FFFF (RFC 3629 table).
bool secondByteOk(unsigned char lead, unsigned char b)
{
    switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return isContinuation(b);
    }
}

const char kReplacement[] = "\xEF\xBF\xBD";

} // namespace

std::string Utf8Streamer::push(const std::string &bytes)
{
    m_pending += bytes;
    std::string out;
    size_t i = 0;
    const size_t n = m_pending.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(m_pending[i]);
        const int len = utf8Length(c);
        if (len == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        if (len == 1) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Check the bytes we have; a sequence broken by a bad byte is replaced and decoding resumes at that byte.
        size_t j = 1;
        bool bad = false;
        for (; j < static_cast<size_t>(len) && i + j < n; ++j) {
            const auto b = static_cast<unsigned char>(m_pending[i + j]);
            if (j == 1 ? !secondByteOk(c, b) : !isContinuation(b)) {
                bad = true;
                break;
            }
        }
        if (bad) {
            out += kReplacement;
            i += j;
            continue;
        }
        if (i + len > n)
            break; // incomplete: wait for the next chunk
        out.append(m_pending, i, len);
        i += len;
    }
    m_pending.erase(0, i);
    return out;
}

std::string Utf8Streamer::flush()
{
    std::string out = m_pending.empty() ? std::string() : std::string(kReplacement);
    m_pending.clear();
    return out;
}

} // namespace uhdlens
