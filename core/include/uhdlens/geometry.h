// UHD Lens — integer image geometry shared by the planner, image I/O and preprocessing (no torch, no Qt).
//
//     uhdlens::Size s{1920, 1080};
//     uhdlens::Rect r{0, 0, 420, 476};   // x, y, width, height in pixels
//
// Plain values: trivially copyable, compared member-wise, thread-safe.
#pragma once

namespace uhdlens {

struct Size
{
    int width = 0;
    int height = 0;
    friend bool operator==(const Size &, const Size &) = default;
};

struct Rect
{
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
    friend bool operator==(const Rect &, const Rect &) = default;
};

} // namespace uhdlens
