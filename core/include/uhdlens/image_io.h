// UHD Lens — image intake: decoding any image a user has into 8-bit RGB, safely.
//
//     uhdlens::ImageLimits limits;                       // 200 MP by default
//     uhdlens::ImageInfo info = uhdlens::probeImage("shot.png", limits);   // header only, cheap
//     QImage rgb = uhdlens::loadImage("shot.png", limits);                 // Format_RGB888, EXIF-oriented
//
// Decoding goes through QtGui's image readers (PNG, JPEG, WebP, TIFF, BMP, GIF first frame, ...). EXIF
// orientation is applied; 16-bit, grey, grey+alpha, indexed and CMYK inputs become 8-bit RGB, alpha composited
// on white. The pixel limit is checked against the header before any pixel buffer is allocated, so a
// decompression bomb is refused cheaply (Qt's own 128 MB allocation limit is lifted to match our budget, and
// setScaledSize() is never used: it bypasses that limit). All functions are thread-safe and throw
// uhdlens::Error (errors.h):
//   FileNotFound, NotAFile (a folder), FileUnreadable (permissions, I/O), NotAnImage (empty file, no decoder
//   recognises it), ImageTruncated (header fine, data cut short or corrupt — including JPEGs that libjpeg would
//   silently pad with grey), ImageEmpty (0 width or height), ImageTooLarge (over ImageLimits::maxPixels),
//   InvalidArgument (maxPixels <= 0).
#pragma once

#include "uhdlens/slice_planner.h"

#include <QImage>
#include <QString>

#include <cstdint>

namespace uhdlens {

struct ImageLimits
{
    std::int64_t maxPixels = 200'000'000; // 200 MP
};

struct ImageInfo
{
    Size size;          // after EXIF orientation
    Size storedSize;    // as stored in the file
    QString format;     // "png", "jpeg", ...
    bool transposed = false; // EXIF orientation swaps width and height
};

// Reads only the header (cheap: no pixel buffer). Header-level problems throw as loadImage would; damage
// further into the file is only found by loadImage.
ImageInfo probeImage(const QString &path, const ImageLimits &limits = {});

// Decodes the whole image (first frame) into QImage::Format_RGB888. Throws uhdlens::Error.
QImage loadImage(const QString &path, const ImageLimits &limits = {});

// Decodes image bytes (clipboard, drag from a browser). The content decides the format; `hint` (e.g. "tga")
// is only tried when the content is not recognised.
QImage loadImageData(const QByteArray &bytes, const ImageLimits &limits = {}, const char *hint = nullptr);

// Converts any QImage (any format, with or without alpha) to Format_RGB888, compositing alpha on white.
// Throws ImageEmpty for a null image and ImageTooLarge over the limit.
QImage toRgb888(const QImage &image, const ImageLimits &limits = {});

} // namespace uhdlens
