// Reading large JSON files fast (simdjson) with errors that say where.
//
// JsonDocument loads and parses a file; on malformed JSON or invalid UTF-8 it
// throws util::Error naming the file, byte offset, line and what the parser
// expected (found with a second, streaming pass that only runs on failure).
// Field accessors throw with a caller-provided location prefix ("record 3 (id
// 'x')") so every message names file, record and field.
//
// Thread-safety: one JsonDocument per thread.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace prlm::data {

class JsonDocument {
 public:
  // Parses one JSON value from `path`.
  explicit JsonDocument(const std::string& path);
  // Parses `text` (e.g. one line of a JSON-lines file); `where` names it.
  JsonDocument(std::string_view text, const std::string& where);

  simdjson::dom::element root() const { return root_; }
  const std::string& where() const { return where_; }

 private:
  void Parse(const std::string& where);
  simdjson::dom::parser parser_;
  simdjson::padded_string text_;
  simdjson::dom::element root_;
  std::string where_;
};

// Describes the first syntax or UTF-8 error in `text`: "at byte N (line L): ...".
std::string LocateJsonError(std::string_view text);
// "; this looks like JSON lines ..." when `text`'s first line is a JSON value
// of its own and more follows (a JSON-lines file where one document was
// expected); "" otherwise.
std::string JsonLinesHint(std::string_view text);

const char* JsonTypeName(simdjson::dom::element_type type);

// Field access with located errors. `where` is the prefix of the message
// (file and record). Strings come back as string_views into the document.
std::string_view RequireString(simdjson::dom::object obj, std::string_view key, const std::string& where);
// nullopt-like: returns false when the key is absent or null.
bool OptionalString(simdjson::dom::object obj, std::string_view key, const std::string& where, std::string* out);
// A string, or a number rendered as text (LaMP-3's scores, years).
bool OptionalScalarText(simdjson::dom::object obj, std::string_view key, const std::string& where, std::string* out);
simdjson::dom::array RequireArray(simdjson::dom::object obj, std::string_view key, const std::string& where);
simdjson::dom::object RequireObject(simdjson::dom::element e, const std::string& where);

}  // namespace prlm::data
