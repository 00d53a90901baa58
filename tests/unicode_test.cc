#include "common/text/unicode.h"

#include <gtest/gtest.h>

#include "common/text/byte_level.h"

namespace prlm::text {
namespace {

TEST(Unicode, SanitizeReplacesEachMaximalInvalidSubpart) {
  // WHATWG: a truncated 3-byte sequence is one U+FFFD; lone bytes one each.
  EXPECT_EQ(SanitizeUtf8("a\xE2\x82"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeUtf8("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Overlong encoding and surrogates: every byte is its own error.
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
  EXPECT_EQ(SanitizeUtf8("cut \xF0\x9F\x98"), "cut \xEF\xBF\xBD");
}

TEST(Unicode, NormalizationForms) {
  EXPECT_EQ(Nfc("e\xCC\x81"), "\xC3\xA9");  // e + combining acute -> é
  EXPECT_EQ(Nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(Nfkc("\xEF\xAC\x81"), "fi");  // ligature
  EXPECT_EQ(StripMarks(Nfd("caf\xC3\xA9")), "cafe");
  EXPECT_EQ(Lowercase("\xC3\x89T\xC3\x89"), "\xC3\xA9t\xC3\xA9");
}

TEST(ByteLevel, TableIsABijectionOverAllBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string mapped = BytesToChars(all);
  EXPECT_EQ(CharsToBytes(mapped), all);
  EXPECT_EQ(ByteToChars(' '), "\xC4\xA0");   // 'Ġ'
  EXPECT_EQ(ByteToChars('\n'), "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(ByteToChars('A'), "A");
}

}  // namespace
}  // namespace prlm::text
