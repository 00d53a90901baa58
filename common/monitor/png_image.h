// An RGB raster with the few drawing operations a chart needs (lines,
// rectangles, text in a built-in 5x7 pixel font) and a PNG encoder, so run
// reports need no plotting library on the cluster.
//
// PNG: 8-bit RGB, no interlace, filter type 0 on every row, the pixels
// deflated by zlib, each chunk with its CRC-32 (PNG specification 1.2).
// Text: ASCII; lower case is drawn in capitals, other characters as '?'.
// Thread-safety: an image is a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::monitor {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class RgbImage {
 public:
  RgbImage(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const;
  // Drawing clips to the image.
  void Set(int x, int y, Rgb c);
  void FillRect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive corners
  void Line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1);
  // Top-left of the first glyph at (x, y); glyphs are 6*scale wide with spacing.
  void Text(int x, int y, const std::string& text, Rgb c, int scale = 1);
  static int TextWidth(const std::string& text, int scale = 1) { return static_cast<int>(text.size()) * 6 * scale; }
  static int TextHeight(int scale = 1) { return 7 * scale; }

  // The PNG file's bytes.
  std::string EncodePng() const;

 private:
  int width_, height_;
  std::vector<uint8_t> pixels_;  // row-major RGB
};

}  // namespace prlm::monitor
