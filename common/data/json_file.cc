#include "common/data/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "common/util/check.h"

namespace prlm::data {
namespace {

// A SAX consumer that keeps nothing: used only to find where parsing fails.
struct LocatingSax : nlohmann::json_sax<nlohmann::json> {
  size_t byte = 0;
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    byte = position;
    message = ex.what();
    return false;
  }
};

}  // namespace

std::string JsonLinesHint(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find('\n', begin);
  if (end == std::string_view::npos || text.find_first_not_of(" \t\r\n", end) == std::string_view::npos) return "";
  if (!nlohmann::json::accept(text.substr(begin, end - begin))) return "";
  return "; this looks like JSON lines (one value per line), but one JSON document (an array) is expected here";
}

std::string LocateJsonError(std::string_view text) {
  LocatingSax sax;
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  if (sax.message.empty()) return "not valid JSON";
  const size_t byte = std::min(sax.byte, text.size());
  const size_t line = 1 + std::count(text.begin(), text.begin() + (byte ? byte - 1 : 0), '\n');
  // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line..."
  std::string msg = sax.message;
  if (auto colon = msg.find(": "); colon != std::string::npos) msg = msg.substr(colon + 2);
  return "at byte " + std::to_string(byte) + " (line " + std::to_string(line) + "): " + msg;
}

JsonDocument::JsonDocument(const std::string& path) {
  auto loaded = simdjson::padded_string::load(path);
  PRLM_REQUIRE(loaded.error() == simdjson::SUCCESS,
               path << ": cannot read (" << simdjson::error_message(loaded.error()) << ")");
  text_ = std::move(loaded).value_unsafe();
  Parse(path);
}

JsonDocument::JsonDocument(std::string_view text, const std::string& where) : text_(text) { Parse(where); }

void JsonDocument::Parse(const std::string& where) {
  where_ = where;
  auto parsed = parser_.parse(text_);
  if (parsed.error() != simdjson::SUCCESS) {
    const std::string_view view(text_.data(), text_.size());
    PRLM_THROW(where << ": malformed JSON " << LocateJsonError(view) << " [" << simdjson::error_message(parsed.error())
                     << "]" << JsonLinesHint(view));
  }
  root_ = parsed.value_unsafe();
}

const char* JsonTypeName(simdjson::dom::element_type type) {
  using T = simdjson::dom::element_type;
  switch (type) {
    case T::ARRAY:
      return "an array";
    case T::OBJECT:
      return "an object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "a number";
    case T::STRING:
      return "a string";
    case T::BOOL:
      return "a boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::string_view RequireString(simdjson::dom::object obj, std::string_view key, const std::string& where) {
  auto field = obj[key];
  PRLM_REQUIRE(field.error() != simdjson::NO_SUCH_FIELD, where << ": field '" << key << "' missing");
  simdjson::dom::element e = field.value_unsafe();
  PRLM_REQUIRE(e.is_string(),
               where << ": field '" << key << "' is " << JsonTypeName(e.type()) << ", expected a string");
  return e.get_string().value_unsafe();
}

bool OptionalString(simdjson::dom::object obj, std::string_view key, const std::string& where, std::string* out) {
  auto field = obj[key];
  if (field.error() == simdjson::NO_SUCH_FIELD || field.value_unsafe().is_null()) return false;
  simdjson::dom::element e = field.value_unsafe();
  PRLM_REQUIRE(e.is_string(),
               where << ": field '" << key << "' is " << JsonTypeName(e.type()) << ", expected a string");
  *out = std::string(e.get_string().value_unsafe());
  return true;
}

bool OptionalScalarText(simdjson::dom::object obj, std::string_view key, const std::string& where, std::string* out) {
  auto field = obj[key];
  if (field.error() == simdjson::NO_SUCH_FIELD || field.value_unsafe().is_null()) return false;
  simdjson::dom::element e = field.value_unsafe();
  if (e.is_string()) {
    *out = std::string(e.get_string().value_unsafe());
  } else if (e.is_int64()) {
    *out = std::to_string(e.get_int64().value_unsafe());
  } else if (e.is_uint64()) {
    *out = std::to_string(e.get_uint64().value_unsafe());
  } else if (e.is_double()) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, e.get_double().value_unsafe());
    *out = std::string(buf, res.ptr);
  } else {
    PRLM_THROW(where << ": field '" << key << "' is " << JsonTypeName(e.type()) << ", expected a string or a number");
  }
  return true;
}

simdjson::dom::array RequireArray(simdjson::dom::object obj, std::string_view key, const std::string& where) {
  auto field = obj[key];
  PRLM_REQUIRE(field.error() != simdjson::NO_SUCH_FIELD, where << ": field '" << key << "' missing");
  simdjson::dom::element e = field.value_unsafe();
  PRLM_REQUIRE(e.is_array(), where << ": field '" << key << "' is " << JsonTypeName(e.type()) << ", expected an array");
  return e.get_array().value_unsafe();
}

simdjson::dom::object RequireObject(simdjson::dom::element e, const std::string& where) {
  PRLM_REQUIRE(e.is_object(), where << " is " << JsonTypeName(e.type()) << ", expected an object");
  return e.get_object().value_unsafe();
}

}  // namespace prlm::data
