// Python's str methods and the Jinja filters defined by them, rendered by
// prlm and by Jinja2 (tests/reference/render_py_strings.py, run by the
// make_tokenizer_references fixture with /usr/bin/python3) on a generated
// corpus of strings, compared byte for byte; and the character tables
// (common/jinja/py_unicode_tables.inc) checked against the same Python.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "common/jinja/py_unicode.h"
#include "common/jinja/template.h"
#include "common/text/unicode.h"
#include "tests/test_util.h"

namespace prlm::jinja {
namespace {

TEST(PyString, EveryMethodAndFilterRendersAsPythonAndJinja2) {
  const std::string path = std::string(PRLM_TEST_REFS) + "/py_strings.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path)) << "references missing: run ctest (the make_tokenizer_references fixture)";
  std::ifstream in(path);
  std::map<std::string, Template> templates;
  std::map<std::string, size_t> failures;  // per template
  std::set<std::string> methods;
  size_t rows = 0, equal = 0;
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::ordered_json::parse(line);
    const std::string source = row["template"], s = row["s"];
    ++rows;
    if (!templates.count(source)) templates.emplace(source, Template::Parse(source));
    std::string text;
    try {
      text = templates.at(source).Render(Value::FromJson({{"s", s}}));
    } catch (const TemplateError& e) {
      text = std::string("error: ") + e.what();
    }
    const std::string want = row.contains("text") ? row["text"].get<std::string>() : "error";
    if (row.contains("error") ? text.rfind("error: ", 0) == 0 : text == want) {
      ++equal;
      continue;
    }
    if (failures[source]++ < 3)
      ADD_FAILURE() << source << " of " << nlohmann::json(s).dump() << ": prlm " << nlohmann::json(text).dump()
                    << ", Jinja2 " << nlohmann::json(want).dump();
  }
  std::printf("py_strings: %zu of %zu renderings (%zu templates) equal Jinja2's\n", equal, rows, templates.size());
  EXPECT_GT(rows, 5000u);
  EXPECT_EQ(equal, rows);
}

// Every code point's isspace / isdigit and one-character case mappings
// against python3 (tests/tools/py_char_table.py lists those that are not
// plain; every other code point must be plain here too).
TEST(PyString, CharacterTablesAreThisPythons) {
  const auto r = testing::Shell("python3 " + std::string(PRLM_SOURCE_DIR) + "/tests/tools/py_char_table.py");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto hex = [](const std::u32string& m) {
    std::string out;
    for (char32_t x : m) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%s%x", out.empty() ? "" : ".", static_cast<unsigned>(x));
      out += buf;
    }
    return out;
  };
  // What this code says of c, in the script's format.
  const auto ours = [&](char32_t c) {
    std::u32string u, l, t;
    AppendUpper(c, &u);
    AppendLower(c, &l);
    AppendTitle(c, &t);
    char head[32];
    std::snprintf(head, sizeof head, "%x %d %d ", static_cast<unsigned>(c), PyIsSpace(c), PyIsDigit(c));
    return head + hex(u) + " " + hex(l) + " " + hex(t);
  };
  std::map<char32_t, std::string> listed;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    listed[static_cast<char32_t>(std::stoul(line.substr(0, line.find(' ')), nullptr, 16))] = line;
  size_t wrong = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const auto it = listed.find(c);
    const std::string want = it != listed.end()
                                 ? it->second
                                 : ours(c).substr(0, ours(c).find(' ')) + " 0 0 " + hex(std::u32string(1, c)) + " " +
                                       hex(std::u32string(1, c)) + " " + hex(std::u32string(1, c));
    if (ours(c) != want && wrong++ < 5) ADD_FAILURE() << "python: " << want << "; prlm: " << ours(c);
  }
  EXPECT_GT(listed.size(), 2800u);
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace prlm::jinja
