// Image intake: every odd-but-valid format decodes to the right oriented size and colours, every malformed
// input gives its typed error (never a crash). Fixtures and expectations come from
// tests/tools/make_image_fixtures.py (expected colours computed by Pillow).
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QBuffer>
#include <QColor>
#include <QImage>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <fstream>
#include <functional>
#include <unistd.h>

namespace {

const QString kDir = QStringLiteral(UHDLENS_TEST_DATA "/images/intake/");

const nlohmann::json &manifest()
{
    static const nlohmann::json m = [] {
        std::ifstream in(UHDLENS_TEST_DATA "/images/intake/manifest.json");
        return nlohmann::json::parse(in);
    }();
    return m;
}

// Runs `f`, expecting a uhdlens::Error with `code`; returns its message.
std::string expectError(const std::function<void()> &f, uhdlens::ErrorCode code)
{
    try {
        f();
    } catch (const uhdlens::Error &e) {
        EXPECT_EQ(uhdlens::errorCodeName(e.code()), std::string(uhdlens::errorCodeName(code))) << e.what();
        EXPECT_FALSE(std::string(e.what()).empty());
        return e.what();
    } catch (const std::exception &e) {
        ADD_FAILURE() << "expected uhdlens::Error " << uhdlens::errorCodeName(code) << ", got " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected uhdlens::Error " << uhdlens::errorCodeName(code) << ", nothing thrown";
    return {};
}

uhdlens::ErrorCode codeFromName(const std::string &name)
{
    using uhdlens::ErrorCode;
    for (ErrorCode c : {ErrorCode::FileNotFound, ErrorCode::NotAFile, ErrorCode::FileUnreadable, ErrorCode::NotAnImage,
                        ErrorCode::ImageTruncated, ErrorCode::ImageEmpty, ErrorCode::ImageTooLarge})
        if (name == uhdlens::errorCodeName(c))
            return c;
    ADD_FAILURE() << "unknown error name in manifest: " << name;
    return ErrorCode::Internal;
}

class ValidFixture : public ::testing::TestWithParam<std::string>
{
};

const nlohmann::json &entry(const char *list, const std::string &file)
{
    for (const auto &e : manifest()[list])
        if (e["file"] == file)
            return e;
    throw std::runtime_error("no manifest entry " + file);
}

std::vector<std::string> names(const char *list)
{
    std::vector<std::string> out;
    for (const auto &e : manifest()[list])
        out.push_back(e["file"]);
    return out;
}

std::string paramName(const ::testing::TestParamInfo<std::string> &info)
{
    std::string s = info.param;
    for (char &c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
    return s;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Valid formats: PNG 8/16-bit, grey, grey+alpha, palette (+tRNS), JPEG baseline/progressive/grey/CMYK, EXIF 1-8,
// WebP (+alpha), TIFF (RGB, 16-bit grey, CMYK, RGBA), BMP (24-bit, palette), animated GIF (first frame).

TEST_P(ValidFixture, DecodesToOrientedRgb888)
{
    const auto &e = entry("valid", GetParam());
    const QString path = kDir + QString::fromStdString(GetParam());
    const int w = e["size"][0], h = e["size"][1];
    const int tol = e["tolerance"];

    const uhdlens::ImageInfo info = uhdlens::probeImage(path);
    EXPECT_EQ(info.size.width, w) << e["note"];
    EXPECT_EQ(info.size.height, h) << e["note"];
    EXPECT_EQ(info.transposed, info.storedSize.width != info.size.width);

    const QImage img = uhdlens::loadImage(path);
    ASSERT_EQ(img.format(), QImage::Format_RGB888);
    ASSERT_EQ(img.width(), w) << e["note"];
    ASSERT_EQ(img.height(), h) << e["note"];
    const int cx[4] = {w / 4, 3 * w / 4, w / 4, 3 * w / 4};
    const int cy[4] = {h / 4, h / 4, 3 * h / 4, 3 * h / 4};
    for (int q = 0; q < 4; ++q) {
        const uchar *p = img.constScanLine(cy[q]) + 3 * cx[q];
        for (int c = 0; c < 3; ++c)
            EXPECT_NEAR(int(p[c]), int(e["quadrants"][q][c]), tol)
                << e["note"] << ": quadrant " << q << " channel " << c;
    }

    // The same bytes through the in-memory path give the same pixels.
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QImage fromData = uhdlens::loadImageData(f.readAll());
    EXPECT_EQ(fromData, img);
}

INSTANTIATE_TEST_SUITE_P(ImageIoFormats, ValidFixture, ::testing::ValuesIn(names("valid")), paramName);

TEST(ImageIoFormats, ManifestCoversEveryRequiredFormat)
{
    // Guards against a fixture silently dropping out of the manifest.
    for (const char *f : {"rgb8.png", "rgb16.png", "rgba8.png", "grey8.png", "grey16.png", "greyalpha.png",
                          "indexed.png", "indexed-trns.png", "rgb.jpg", "cmyk.jpg", "orient-6.jpg", "orient-8.jpg",
                          "rgb.webp", "rgba.webp", "rgb.tif", "rgb.bmp", "animated.gif"})
        EXPECT_NO_THROW(entry("valid", f)) << f;
    EXPECT_GE(manifest()["invalid"].size(), 10u);
}

TEST(ImageIoFormats, ExifRotationSwapsReportedSize)
{
    const auto info = uhdlens::probeImage(kDir + "orient-6.jpg");
    EXPECT_EQ(info.storedSize, (uhdlens::Size{64, 48}));
    EXPECT_EQ(info.size, (uhdlens::Size{48, 64}));
    EXPECT_TRUE(info.transposed);
    EXPECT_EQ(info.format, QStringLiteral("jpeg"));
    const auto flip = uhdlens::probeImage(kDir + "orient-3.jpg");
    EXPECT_EQ(flip.size, (uhdlens::Size{64, 48}));
    EXPECT_FALSE(flip.transposed);
}

// PNG eXIf orientation (Qt 6.4's PNG reader ignores the chunk; browsers and phones honour it).
namespace {
std::uint32_t crc32(const QByteArray &data)
{
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data) {
        c ^= b;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

QByteArray be32(std::uint32_t v)
{
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    return QByteArray(b, 4);
}

// A 30x10 PNG, blue in its left 6 columns and red elsewhere, with `exif` (a TIFF stream) as an eXIf chunk
// right after IHDR.
QByteArray pngWithExif(const QByteArray &exif)
{
    QImage img(30, 10, QImage::Format_RGB888);
    img.fill(QColor(255, 0, 0));
    for (int y = 0; y < 10; ++y)
        for (int x = 0; x < 6; ++x)
            img.setPixelColor(x, y, QColor(0, 0, 255));
    QByteArray png;
    QBuffer buf(&png);
    buf.open(QIODevice::WriteOnly);
    img.save(&buf, "PNG");
    const int afterIhdr = 8 + 12 + 13;
    const QByteArray body = QByteArray("eXIf") + exif;
    return png.left(afterIhdr) + be32(std::uint32_t(exif.size())) + body + be32(crc32(body)) + png.mid(afterIhdr);
}

// A big-endian TIFF stream whose IFD0 holds one entry: tag 0x0112 (orientation), SHORT, count 1.
QByteArray exifOrientation(int orientation)
{
    QByteArray t("MM\x00\x2a", 4);
    t += be32(8);
    t += QByteArray("\x00\x01\x01\x12\x00\x03", 6) + be32(1);
    const char value[4] = {0, char(orientation), 0, 0};
    t += QByteArray(value, 4);
    t += be32(0);
    return t;
}

bool isBlue(const QImage &img, int x, int y)
{
    const QColor c = img.pixelColor(x, y);
    return c.blue() > 200 && c.red() < 50;
}
} // namespace

TEST(ImageIoFormats, PngExifOrientationIsApplied)
{
    struct Case
    {
        int orientation;
        uhdlens::Size size;
        QPoint blue, red; // a pixel inside the blue stripe and one outside it, after orientation
    };
    const Case cases[] = {
        {1, {30, 10}, {2, 5}, {27, 5}},  // as stored: stripe on the left
        {2, {30, 10}, {27, 5}, {2, 5}},  // mirrored: on the right
        {3, {30, 10}, {27, 5}, {2, 5}},  // rotated 180
        {4, {30, 10}, {2, 5}, {27, 5}},  // flipped vertically: still on the left
        {6, {10, 30}, {5, 2}, {5, 27}},  // a quarter turn clockwise: the left edge becomes the top
        {8, {10, 30}, {5, 27}, {5, 2}},  // counter-clockwise: the bottom
        {5, {10, 30}, {5, 2}, {5, 27}},  // transpose: left edge to the top
        {7, {10, 30}, {5, 27}, {5, 2}},  // transverse: left edge to the bottom
    };
    QTemporaryDir tmp;
    ASSERT_TRUE(tmp.isValid());
    for (const Case &c : cases) {
        SCOPED_TRACE(c.orientation);
        const QByteArray bytes = pngWithExif(exifOrientation(c.orientation));
        const QImage img = uhdlens::loadImageData(bytes);
        EXPECT_EQ(img.width(), c.size.width);
        EXPECT_EQ(img.height(), c.size.height);
        EXPECT_TRUE(isBlue(img, c.blue.x(), c.blue.y()));
        EXPECT_FALSE(isBlue(img, c.red.x(), c.red.y()));
        // The header probe agrees without decoding.
        const QString path = tmp.filePath(QStringLiteral("o%1.png").arg(c.orientation));
        QFile f(path);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        f.close();
        const auto info = uhdlens::probeImage(path);
        EXPECT_EQ(info.size, c.size);
        EXPECT_EQ(info.storedSize, (uhdlens::Size{30, 10}));
        EXPECT_EQ(info.transposed, c.size.width == 10);
        EXPECT_EQ(uhdlens::loadImage(path).size(), img.size());
    }
}

TEST(ImageIoErrors, MalformedPngExifIsIgnored)
{
    // Little-endian stream, orientation 6, to show byte order is read...
    QByteArray le("II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00", 22);
    EXPECT_EQ(uhdlens::loadImageData(pngWithExif(le)).size(), QSize(10, 30));
    // ...then broken ones: each decodes as stored, never crashes, never throws.
    const QByteArray broken[] = {
        QByteArray(),                                            // empty chunk
        QByteArray("XX\x00\x2a\x00\x00\x00\x08", 8),            // unknown byte order
        QByteArray("MM\x00\x2b\x00\x00\x00\x08", 8),            // not 42
        QByteArray("MM\x00\x2a\x7f\xff\xff\xff", 8),            // IFD offset far past the chunk
        QByteArray("MM\x00\x2a\x00\x00\x00\x08\xff\xff", 10),   // 65535 entries, none present
        exifOrientation(0),                                      // out of range
        exifOrientation(9),
        exifOrientation(6).left(16),                             // entry cut short
    };
    for (const QByteArray &exif : broken) {
        SCOPED_TRACE(exif.toHex().toStdString());
        EXPECT_EQ(uhdlens::loadImageData(pngWithExif(exif)).size(), QSize(30, 10));
    }
    // A chunk length running past the end of the file is damage the decoder reports, not a crash.
    QByteArray bad = pngWithExif(exifOrientation(6));
    bad.replace(33, 4, be32(0x7fffffff));
    try {
        uhdlens::loadImageData(bad);
    } catch (const uhdlens::Error &) {
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed inputs.

class InvalidFixture : public ::testing::TestWithParam<std::string>
{
};

TEST_P(InvalidFixture, LoadGivesTypedError)
{
    const auto &e = entry("invalid", GetParam());
    const QString path = kDir + QString::fromStdString(GetParam());
    const auto code = codeFromName(e["error"]);
    const std::string msg = expectError([&] { uhdlens::loadImage(path); }, code);
    EXPECT_NE(msg.find(GetParam()), std::string::npos) << "message should name the file: " << msg;

    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    expectError([&] { uhdlens::loadImageData(bytes); }, code);

    // probe reads only the header: it must agree on every header-level problem, and never crash on the rest.
    if (code == uhdlens::ErrorCode::ImageTruncated) {
        try {
            uhdlens::probeImage(path);
        } catch (const uhdlens::Error &err) {
            EXPECT_EQ(err.code(), uhdlens::ErrorCode::ImageTruncated) << err.what();
        }
    } else {
        expectError([&] { uhdlens::probeImage(path); }, code);
    }
}

INSTANTIATE_TEST_SUITE_P(ImageIoErrors, InvalidFixture, ::testing::ValuesIn(names("invalid")), paramName);

TEST(ImageIoErrors, MissingFile)
{
    const QString path = kDir + "does-not-exist.png";
    const std::string msg = expectError([&] { uhdlens::loadImage(path); }, uhdlens::ErrorCode::FileNotFound);
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
    expectError([&] { uhdlens::probeImage(path); }, uhdlens::ErrorCode::FileNotFound);
}

TEST(ImageIoErrors, Directory)
{
    expectError([&] { uhdlens::loadImage(kDir); }, uhdlens::ErrorCode::NotAFile);
    expectError([&] { uhdlens::probeImage(kDir); }, uhdlens::ErrorCode::NotAFile);
}

TEST(ImageIoErrors, TextRenamedPng)
{
    const std::string msg = expectError([&] { uhdlens::loadImage(QStringLiteral(UHDLENS_TEST_DATA "/images/not-an-image.png")); },
                                        uhdlens::ErrorCode::NotAnImage);
    EXPECT_NE(msg.find("not an image"), std::string::npos) << msg;
}

TEST(ImageIoErrors, UnreadableFile)
{
    if (::geteuid() == 0)
        GTEST_SKIP() << "running as root: file permissions cannot make a file unreadable";
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString path = dir.filePath("locked.png");
    ASSERT_TRUE(QFile::copy(kDir + "rgb8.png", path));
    ASSERT_TRUE(QFile::setPermissions(path, QFileDevice::WriteOwner));
    expectError([&] { uhdlens::loadImage(path); }, uhdlens::ErrorCode::FileUnreadable);
    expectError([&] { uhdlens::probeImage(path); }, uhdlens::ErrorCode::FileUnreadable);
}

TEST(ImageIoErrors, EmptyData)
{
    expectError([] { uhdlens::loadImageData(QByteArray()); }, uhdlens::ErrorCode::NotAnImage);
    expectError([] { uhdlens::toRgb888(QImage()); }, uhdlens::ErrorCode::ImageEmpty);
}

TEST(ImageIoErrors, PixelLimitIsConfigurable)
{
    uhdlens::ImageLimits tight;
    tight.maxPixels = 64 * 48 - 1;
    const std::string msg =
        expectError([&] { uhdlens::loadImage(kDir + "rgb8.png", tight); }, uhdlens::ErrorCode::ImageTooLarge);
    EXPECT_NE(msg.find("64x48"), std::string::npos) << msg;
    expectError([&] { uhdlens::probeImage(kDir + "rgb8.png", tight); }, uhdlens::ErrorCode::ImageTooLarge);
    tight.maxPixels = 64 * 48;
    EXPECT_EQ(uhdlens::loadImage(kDir + "rgb8.png", tight).size(), QSize(64, 48));

    // A generous limit lets the 100000x100000 header through the pixel check; the decode must then fail
    // cleanly (the data is a few bytes), not allocate 30 GB or crash.
    uhdlens::ImageLimits loose;
    loose.maxPixels = 20'000'000'000LL;
    EXPECT_THROW(uhdlens::loadImage(kDir + "huge.png", loose), uhdlens::Error);

    uhdlens::ImageLimits bad;
    bad.maxPixels = 0;
    expectError([&] { uhdlens::loadImage(kDir + "rgb8.png", bad); }, uhdlens::ErrorCode::InvalidArgument);
}

TEST(ImageIoErrors, TruncatedJpegFromBytesAtManyCuts)
{
    // Every cut of a JPEG gives a typed error, never a crash and never a silently grey-filled image.
    QFile f(kDir + "progressive.jpg");
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QByteArray full = f.readAll();
    for (qsizetype n = 1; n < full.size() - 2; n += 7) {
        try {
            uhdlens::loadImageData(full.left(n));
            ADD_FAILURE() << "cut at " << n << " of " << full.size() << " decoded without error";
        } catch (const uhdlens::Error &e) {
            EXPECT_TRUE(e.code() == uhdlens::ErrorCode::ImageTruncated || e.code() == uhdlens::ErrorCode::NotAnImage)
                << n << ": " << e.what();
        }
    }
}

TEST(ImageIoErrors, TruncatedPngFromBytesAtManyCuts)
{
    QFile f(kDir + "rgba8.png");
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QByteArray full = f.readAll();
    const qsizetype iend = full.size() - 12; // the IEND chunk is the file's last 12 bytes
    for (qsizetype n = 1; n < iend; n += 3) {
        try {
            uhdlens::loadImageData(full.left(n));
            ADD_FAILURE() << "cut at " << n << " of " << full.size() << " decoded without error";
        } catch (const uhdlens::Error &e) {
            EXPECT_TRUE(e.code() == uhdlens::ErrorCode::ImageTruncated || e.code() == uhdlens::ErrorCode::NotAnImage)
                << n << ": " << e.what();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// toRgb888 on in-memory images of every QImage format family.

TEST(ImageIoConvert, AlphaCompositedOnWhite)
{
    QImage argb(2, 1, QImage::Format_ARGB32);
    argb.setPixel(0, 0, qRgba(0, 0, 0, 0));       // fully transparent black -> white
    argb.setPixel(1, 0, qRgba(200, 100, 0, 51));  // 20% opaque -> 0.2*c + 0.8*255
    const QImage out = uhdlens::toRgb888(argb);
    ASSERT_EQ(out.format(), QImage::Format_RGB888);
    EXPECT_EQ(out.pixel(0, 0), qRgb(255, 255, 255));
    EXPECT_EQ(out.pixel(1, 0), qRgb(244, 224, 204));
}

TEST(ImageIoConvert, EveryFormatBecomesRgb888)
{
    QImage src(5, 3, QImage::Format_RGB32);
    src.fill(qRgb(10, 120, 250));
    for (QImage::Format fmt : {QImage::Format_RGB32, QImage::Format_ARGB32_Premultiplied, QImage::Format_RGB16,
                               QImage::Format_RGBX64, QImage::Format_RGBA64, QImage::Format_BGR888,
                               QImage::Format_RGBA8888, QImage::Format_A2BGR30_Premultiplied}) {
        const QImage out = uhdlens::toRgb888(src.convertToFormat(fmt));
        ASSERT_EQ(out.format(), QImage::Format_RGB888) << fmt;
        ASSERT_EQ(out.size(), QSize(5, 3));
        const QRgb p = out.pixel(2, 1);
        EXPECT_NEAR(qRed(p), 10, 8) << fmt; // RGB16 keeps 5/6 bits per channel
        EXPECT_NEAR(qGreen(p), 120, 8) << fmt;
        EXPECT_NEAR(qBlue(p), 250, 8) << fmt;
    }
    const QImage grey = uhdlens::toRgb888(src.convertToFormat(QImage::Format_Grayscale16));
    EXPECT_EQ(qRed(grey.pixel(0, 0)), qGreen(grey.pixel(0, 0)));
}
