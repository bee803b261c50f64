// Fuzz entry: image intake from memory (loadImageData: our header sniffing, pixel limit, PNG eXIf
// orientation, JPEG end check and RGB888 conversion, around Qt's image readers).
#include "fuzz_entries.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <QByteArray>

bool fuzz_image(const uint8_t *data, size_t size)
{
    // A 4 MP budget keeps each run fast; the limit code is the same for any budget.
    uhdlens::ImageLimits limits;
    limits.maxPixels = 4'000'000;
    const QByteArray bytes(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    try {
        const QImage rgb = uhdlens::loadImageData(bytes, limits);
        FUZZ_CHECK(!rgb.isNull() && rgb.format() == QImage::Format_RGB888);
        FUZZ_CHECK(rgb.width() > 0 && rgb.height() > 0);
        FUZZ_CHECK(int64_t(rgb.width()) * rgb.height() <= limits.maxPixels);
        return true;
    } catch (const uhdlens::Error &) {
        return false;
    }
}
