#include "uhdlens/image_io.h"

#include "uhdlens/errors.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImageReader>
#include <QPainter>

namespace uhdlens {

namespace {

std::string u8(const QString &s) { return s.toStdString(); }

std::string pixelsText(std::int64_t pixels)
{
    return std::to_string(pixels / 1'000'000) + "." + std::to_string((pixels / 100'000) % 10) + " MP";
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
        throw Error(ErrorCode::NotAnImage, "file is empty: " + u8(path), u8(path));
}

// Validates what the header says, before anything is decoded.
ImageInfo probeReader(QImageReader &reader, const ImageLimits &limits, const std::string &name)
{
    if (!reader.canRead()) {
        if (reader.error() == QImageReader::DeviceError)
            throw Error(ErrorCode::FileUnreadable, "could not read " + name + ": " + u8(reader.errorString()), name);
        throw Error(ErrorCode::NotAnImage, name + " is not an image in a supported format", name);
    }
    const QSize stored = reader.size();
    if (!stored.isValid())
        throw Error(ErrorCode::ImageTruncated, name + ": the image header is damaged (no valid size)", name);
    if (stored.width() <= 0 || stored.height() <= 0)
        throw Error(ErrorCode::ImageEmpty, name + " has no pixels (" + std::to_string(stored.width()) + "x" +
                                               std::to_string(stored.height()) + ")", name);
    const std::int64_t pixels = static_cast<std::int64_t>(stored.width()) * stored.height();
    if (pixels > limits.maxPixels)
        throw Error(ErrorCode::ImageTooLarge,
                    name + " is " + std::to_string(stored.width()) + "x" + std::to_string(stored.height()) + " (" +
                        pixelsText(pixels) + "), over the limit of " + pixelsText(limits.maxPixels),
                    name);
    ImageInfo info;
    info.storedSize = {stored.width(), stored.height()};
    info.format = QString::fromLatin1(reader.format());
    info.transposed = reader.transformation().testFlag(QImageIOHandler::TransformationRotate90);
    info.size = info.transposed ? Size{stored.height(), stored.width()} : info.storedSize;
    return info;
}

QImage decode(QImageReader &reader, const ImageLimits &limits, const std::string &name)
{
    probeReader(reader, limits, name);
    // Our own pixel budget has been checked against the header; lift Qt's 128 MB default so it does not refuse
    // images we accept (an 8-bit RGBA 200 MP image needs 800 MB).
    const std::int64_t bytesNeeded = static_cast<std::int64_t>(limits.maxPixels) * 8 / (1024 * 1024) + 1;
    reader.setAllocationLimit(static_cast<int>(std::min<std::int64_t>(bytesNeeded, 1 << 30)));
    reader.setAutoTransform(true); // EXIF orientation
    QImage image;
    if (!reader.read(&image) || image.isNull())
        throw Error(ErrorCode::ImageTruncated,
                    name + " could not be decoded (truncated or corrupt): " + u8(reader.errorString()), name);
    return toRgb888(image, limits);
}

} // namespace

ImageInfo probeImage(const QString &path, const ImageLimits &limits)
{
    checkFile(path);
    QImageReader reader(path);
    reader.setAutoTransform(true);
    reader.setDecideFormatFromContent(true);
    return probeReader(reader, limits, u8(path));
}

QImage loadImage(const QString &path, const ImageLimits &limits)
{
    checkFile(path);
    QImageReader reader(path);
    reader.setDecideFormatFromContent(true);
    return decode(reader, limits, u8(path));
}

QImage loadImageData(const QByteArray &bytes, const ImageLimits &limits, const char *hint)
{
    if (bytes.isEmpty())
        throw Error(ErrorCode::NotAnImage, "no image data");
    QBuffer buffer;
    buffer.setData(bytes);
    buffer.open(QIODevice::ReadOnly);
    QImageReader reader(&buffer, hint ? QByteArray(hint) : QByteArray());
    reader.setDecideFormatFromContent(true);
    return decode(reader, limits, "image data");
}

QImage toRgb888(const QImage &image, const ImageLimits &limits)
{
    if (image.isNull() || image.width() <= 0 || image.height() <= 0)
        throw Error(ErrorCode::ImageEmpty, "the image has no pixels");
    const std::int64_t pixels = static_cast<std::int64_t>(image.width()) * image.height();
    if (pixels > limits.maxPixels)
        throw Error(ErrorCode::ImageTooLarge, "image of " + pixelsText(pixels) + " is over the limit of " +
                                                  pixelsText(limits.maxPixels));
    if (image.format() == QImage::Format_RGB888)
        return image;
    if (!image.hasAlphaChannel())
        return image.convertToFormat(QImage::Format_RGB888); // handles 16-bit, grey, indexed, CMYK
    // Composite on white, as the reference pipelines' convert("RGB") on a white background would show it.
    QImage out(image.size(), QImage::Format_RGB888);
    out.fill(Qt::white);
    QPainter painter(&out);
    painter.setCompositionMode(QPainter::CompositionMode_SourceOver);
    painter.drawImage(0, 0, image.convertToFormat(QImage::Format_ARGB32_Premultiplied));
    painter.end();
    return out;
}

} // namespace uhdlens
