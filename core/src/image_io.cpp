#include "uhdlens/image_io.h"

#include "uhdlens/errors.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QTransform>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>

namespace uhdlens {

namespace {

std::string u8(const QString &s) { return s.toStdString(); }

std::string pixelsText(std::int64_t pixels)
{
    if (pixels < 1'000'000)
        return std::to_string(pixels) + " pixels";
    return std::to_string(pixels / 1'000'000) + "." + std::to_string((pixels / 100'000) % 10) + " MP";
}

std::string sizeText(std::int64_t w, std::int64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

void checkLimits(const ImageLimits &limits)
{
    if (limits.maxPixels <= 0)
        throw Error(ErrorCode::InvalidArgument, "the image pixel limit must be positive", "maxPixels");
}

void checkFile(const QString &path)
{
    const QFileInfo fi(path);
    if (!fi.exists())
        throw Error(ErrorCode::FileNotFound, "file not found: " + u8(path), u8(path));
    if (!fi.isFile())
        throw Error(ErrorCode::NotAFile, "not a file (a folder or a device): " + u8(path), u8(path));
    if (!fi.isReadable())
        throw Error(ErrorCode::FileUnreadable, "file is not readable (permissions?): " + u8(path), u8(path));
    if (fi.size() == 0)
        throw Error(ErrorCode::NotAnImage, "file is empty (0 bytes), not an image: " + u8(path), u8(path));
}

QByteArray readWholeFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(ErrorCode::FileUnreadable, "could not open " + u8(path) + ": " + u8(file.errorString()), u8(path));
    QByteArray bytes = file.readAll();
    if (file.error() != QFileDevice::NoError)
        throw Error(ErrorCode::FileUnreadable, "could not read " + u8(path) + ": " + u8(file.errorString()), u8(path));
    if (bytes.isEmpty())
        throw Error(ErrorCode::NotAnImage, "file is empty (0 bytes), not an image: " + u8(path), u8(path));
    return bytes;
}

std::uint32_t be32(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return (std::uint32_t(u[0]) << 24) | (std::uint32_t(u[1]) << 16) | (std::uint32_t(u[2]) << 8) | u[3];
}

std::uint32_t le16(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return std::uint32_t(u[0]) | (std::uint32_t(u[1]) << 8);
}

// The size a PNG's IHDR or a GIF's logical screen claims, read directly from the first bytes. Qt's readers
// report no size at all when libpng refuses a header (0 width, or a side over libpng's 1,000,000 limit), which
// would otherwise look like a damaged file rather than the empty image or the bomb it is.
std::optional<std::pair<std::int64_t, std::int64_t>> sniffDeclaredSize(const QByteArray &head)
{
    static const char pngSig[] = "\x89PNG\r\n\x1a\n";
    if (head.size() >= 24 && std::equal(pngSig, pngSig + 8, head.constData()) && head.mid(12, 4) == "IHDR")
        return std::pair<std::int64_t, std::int64_t>(be32(head.constData() + 16), be32(head.constData() + 20));
    if (head.size() >= 10 && (head.startsWith("GIF87a") || head.startsWith("GIF89a")))
        return std::pair<std::int64_t, std::int64_t>(le16(head.constData() + 6), le16(head.constData() + 8));
    return std::nullopt;
}

// libjpeg treats a missing end of data as a warning: it fills the rest with grey and Qt reports success. A
// complete JPEG has an EOI marker (FF D9) after its last start-of-scan (FF DA); inside entropy-coded data FF is
// always byte-stuffed (FF 00) or a restart marker (FF D0-D7), so FF D9 there can only be the real end. (An EXIF
// thumbnail's own EOI comes before the main image's first SOS and does not fool this.)
bool jpegHasEnd(const QByteArray &bytes)
{
    const qsizetype sos = bytes.lastIndexOf(QByteArrayView("\xff\xda", 2));
    if (sos < 0)
        return false;
    return bytes.indexOf(QByteArrayView("\xff\xd9", 2), sos + 2) >= 0;
}

// PNG eXIf (PNG 1.5 extension, 2017): the EXIF orientation of a PNG, which browsers and phones honour but Qt 6.4's
// PNG reader ignores. Walks the chunks up to the first IDAT for an eXIf chunk (a TIFF stream: byte order "II"/"MM",
// 42, IFD0 offset) and reads tag 0x0112 (SHORT) of IFD0. Anything malformed or absent reads as 1 (as stored).
int pngExifOrientation(const QByteArray &bytes)
{
    const char *p = bytes.constData();
    const std::size_t n = static_cast<std::size_t>(bytes.size());
    if (n < 8 || std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0)
        return 1;
    for (std::size_t at = 8; at + 12 <= n;) {
        const std::size_t length = be32(p + at);
        if (length > n - at - 12)
            return 1; // truncated chunk
        const char *type = p + at + 4;
        if (std::memcmp(type, "IDAT", 4) == 0 || std::memcmp(type, "IEND", 4) == 0)
            return 1; // eXIf must precede the image data
        if (std::memcmp(type, "eXIf", 4) == 0) {
            const char *t = p + at + 8;
            if (length < 8)
                return 1;
            const bool little = t[0] == 'I' && t[1] == 'I';
            if (!little && !(t[0] == 'M' && t[1] == 'M'))
                return 1;
            auto u16 = [&](std::size_t o) { return little ? le16(t + o) : be32(t + o) >> 16; };
            auto u32 = [&](std::size_t o) { return little ? le16(t + o) | (le16(t + o + 2) << 16) : be32(t + o); };
            if (u16(2) != 42)
                return 1;
            const std::size_t ifd = u32(4);
            if (ifd > length || length - ifd < 2)
                return 1;
            const std::size_t entries = u16(ifd);
            for (std::size_t e = 0; e < entries; ++e) {
                const std::size_t o = ifd + 2 + e * 12;
                if (o + 12 > length)
                    return 1;
                if (u16(o) == 0x0112) {
                    const std::uint32_t value = u16(o + 2) == 3 && u32(o + 4) == 1 ? u16(o + 8) : 0; // SHORT, count 1
                    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
                }
            }
            return 1;
        }
        at += 12 + length;
    }
    return 1;
}

// EXIF orientation 1..8 as Qt's reader transformations (the mapping Qt's JPEG handler uses).
QImageIOHandler::Transformations exifTransformation(int orientation)
{
    switch (orientation) {
    case 2: return QImageIOHandler::TransformationMirror;
    case 3: return QImageIOHandler::TransformationRotate180;
    case 4: return QImageIOHandler::TransformationFlip;
    case 5: return QImageIOHandler::TransformationFlipAndRotate90;
    case 6: return QImageIOHandler::TransformationRotate90;
    case 7: return QImageIOHandler::TransformationMirrorAndRotate90;
    case 8: return QImageIOHandler::TransformationRotate270;
    default: return QImageIOHandler::TransformationNone;
    }
}

// What QImageReader's auto-transform does: mirror/flip first, then a quarter turn clockwise.
QImage applyTransformation(const QImage &image, QImageIOHandler::Transformations t)
{
    if (t == QImageIOHandler::TransformationNone)
        return image;
    QImage out = image;
    if (t.testFlag(QImageIOHandler::TransformationMirror) || t.testFlag(QImageIOHandler::TransformationFlip))
        out = out.mirrored(t.testFlag(QImageIOHandler::TransformationMirror), t.testFlag(QImageIOHandler::TransformationFlip));
    if (t.testFlag(QImageIOHandler::TransformationRotate90))
        out = out.transformed(QTransform().rotate(90));
    return out;
}

// The orientation the reader will not apply itself: a PNG's eXIf chunk (Qt reports none for PNG).
QImageIOHandler::Transformations pendingTransformation(const QImageReader &reader, const QByteArray &bytes)
{
    if (reader.format() != "png" || reader.transformation() != QImageIOHandler::TransformationNone)
        return QImageIOHandler::TransformationNone;
    return exifTransformation(pngExifOrientation(bytes));
}

void checkDeclaredSize(std::int64_t w, std::int64_t h, const ImageLimits &limits, const std::string &name)
{
    if (w <= 0 || h <= 0)
        throw Error(ErrorCode::ImageEmpty, name + " has no pixels (" + sizeText(w, h) + ")", name);
    // Sides sniffed from a PNG/GIF header are up to 2^32 - 1 each, so the product can overflow int64 (found by
    // fuzzing: a PNG declaring 4261281277 x 4261281277); such a product is over any limit.
    std::int64_t pixels = 0;
    if (__builtin_mul_overflow(w, h, &pixels))
        pixels = std::numeric_limits<std::int64_t>::max();
    if (pixels > limits.maxPixels)
        throw Error(ErrorCode::ImageTooLarge,
                    name + " is " + sizeText(w, h) + " (" + pixelsText(pixels) + "), over the limit of " +
                        pixelsText(limits.maxPixels) + "; refused before decoding",
                    name);
}

// Validates what the header says, before any pixel buffer exists. `head` holds at least the file's first bytes.
ImageInfo probeReader(QImageReader &reader, const QByteArray &head, const ImageLimits &limits,
                      const std::string &name)
{
    const auto declared = sniffDeclaredSize(head);
    if (!reader.canRead()) {
        if (reader.error() == QImageReader::DeviceError)
            throw Error(ErrorCode::FileUnreadable, "could not read " + name + ": " + u8(reader.errorString()), name);
        if (declared) {
            checkDeclaredSize(declared->first, declared->second, limits, name);
            throw Error(ErrorCode::ImageTruncated, name + ": the image header is damaged", name);
        }
        throw Error(ErrorCode::NotAnImage, name + " is not an image in a supported format", name);
    }
    const QSize stored = reader.size();
    if (!stored.isValid() || stored.isEmpty()) {
        if (declared)
            checkDeclaredSize(declared->first, declared->second, limits, name);
        if (stored.isValid()) // a reader that reports 0xN
            checkDeclaredSize(stored.width(), stored.height(), limits, name);
        throw Error(ErrorCode::ImageTruncated, name + ": the image header is damaged (no valid size)", name);
    }
    checkDeclaredSize(stored.width(), stored.height(), limits, name);

    ImageInfo info;
    info.storedSize = {stored.width(), stored.height()};
    info.format = QString::fromLatin1(reader.format());
    info.transposed = (reader.transformation() | pendingTransformation(reader, head))
                          .testFlag(QImageIOHandler::TransformationRotate90);
    info.size = info.transposed ? Size{stored.height(), stored.width()} : info.storedSize;
    return info;
}

QImage decode(const QByteArray &bytes, const ImageLimits &limits, const std::string &name, const char *hint = nullptr)
{
    QBuffer buffer;
    buffer.setData(bytes);
    buffer.open(QIODevice::ReadOnly);
    QImageReader reader(&buffer);
    reader.setDecideFormatFromContent(true);
    // The content decides (a .png that is really a JPEG is read as JPEG). A caller's hint only helps formats
    // without a signature (TGA) that content sniffing cannot recognise.
    if (hint && *hint && !reader.canRead()) {
        buffer.seek(0);
        reader.setDevice(nullptr);
        reader.setDevice(&buffer);
        reader.setDecideFormatFromContent(false);
        reader.setFormat(QByteArray(hint));
    }
    const ImageInfo info = probeReader(reader, bytes, limits, name);

    // Our own pixel budget has been checked against the header. Qt's allocation limit (128 MB by default) is
    // per decoded buffer in the reader's native format (up to 8 bytes per pixel for 16-bit RGBA): lift it to
    // what our budget allows so it never refuses an image we accept. We never use setScaledSize(), which would
    // bypass the limit and decode slowly.
    const std::int64_t mb = limits.maxPixels * 8 / (1024 * 1024) + 1;
    reader.setAllocationLimit(static_cast<int>(std::min<std::int64_t>(mb, INT_MAX)));
    reader.setAutoTransform(true); // EXIF / TIFF orientation
    const QImageIOHandler::Transformations pending = pendingTransformation(reader, bytes); // PNG eXIf
    QImage image;
    if (!reader.read(&image) || image.isNull())
        throw Error(ErrorCode::ImageTruncated,
                    name + " could not be decoded (truncated or corrupt): " + u8(reader.errorString()), name);
    if (info.format == QLatin1String("jpeg") && !jpegHasEnd(bytes))
        throw Error(ErrorCode::ImageTruncated, name + " is truncated (the JPEG data ends early)", name);
    return toRgb888(applyTransformation(image, pending), limits);
}

} // namespace

ImageInfo probeImage(const QString &path, const ImageLimits &limits)
{
    checkLimits(limits);
    checkFile(path);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(ErrorCode::FileUnreadable, "could not open " + u8(path) + ": " + u8(file.errorString()), u8(path));
    // Enough of the file for the header sniffers and a PNG's eXIf chunk, which sits before the image data.
    const QByteArray head = file.peek(256 * 1024);
    QImageReader reader(&file);
    reader.setDecideFormatFromContent(true);
    return probeReader(reader, head, limits, u8(path));
}

QImage loadImage(const QString &path, const ImageLimits &limits)
{
    checkLimits(limits);
    checkFile(path);
    return decode(readWholeFile(path), limits, u8(path));
}

QImage loadImageData(const QByteArray &bytes, const ImageLimits &limits, const char *hint)
{
    checkLimits(limits);
    if (bytes.isEmpty())
        throw Error(ErrorCode::NotAnImage, "no image data (0 bytes)");
    return decode(bytes, limits, "the image data", hint);
}

QImage toRgb888(const QImage &image, const ImageLimits &limits)
{
    checkLimits(limits);
    if (image.isNull() || image.width() <= 0 || image.height() <= 0)
        throw Error(ErrorCode::ImageEmpty, "the image has no pixels");
    const std::int64_t pixels = static_cast<std::int64_t>(image.width()) * image.height();
    if (pixels > limits.maxPixels)
        throw Error(ErrorCode::ImageTooLarge, "an image of " + sizeText(image.width(), image.height()) + " (" +
                                                  pixelsText(pixels) + ") is over the limit of " +
                                                  pixelsText(limits.maxPixels));
    if (image.format() == QImage::Format_RGB888)
        return image;
    if (!image.hasAlphaChannel())
        return image.convertToFormat(QImage::Format_RGB888); // 16-bit, grey, indexed, RGB32 (Qt's CMYK JPEG)
    // Alpha composited on white: out = c*a + 255*(1-a), rounded. Done on straight (non-premultiplied) 8-bit
    // ARGB so no premultiplication rounding is added; 16-bit inputs are reduced to 8 bits first.
    const QImage argb = image.convertToFormat(QImage::Format_ARGB32);
    QImage out(argb.size(), QImage::Format_RGB888);
    if (out.isNull())
        throw Error(ErrorCode::ImageTooLarge, "not enough memory for an image of " +
                                                  sizeText(image.width(), image.height()));
    for (int y = 0; y < argb.height(); ++y) {
        const auto *src = reinterpret_cast<const QRgb *>(argb.constScanLine(y));
        uchar *dst = out.scanLine(y);
        for (int x = 0; x < argb.width(); ++x) {
            const unsigned a = qAlpha(src[x]);
            const unsigned bg = 255u * (255u - a) + 127u; // + 127: round to nearest in the division below
            dst[3 * x + 0] = static_cast<uchar>((qRed(src[x]) * a + bg) / 255u);
            dst[3 * x + 1] = static_cast<uchar>((qGreen(src[x]) * a + bg) / 255u);
            dst[3 * x + 2] = static_cast<uchar>((qBlue(src[x]) * a + bg) / 255u);
        }
    }
    return out;
}

} // namespace uhdlens
