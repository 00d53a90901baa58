#include "common/config/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::config {
namespace {

std::string Where(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// The shortest text that reads back as the same double (0.04, not 0.040000000000000001).
std::string NumberText(double v) {
  for (int precision = 6; precision <= 17; ++precision) {
    std::ostringstream s;
    s.precision(precision);
    s << v;
    if (std::strtod(s.str().c_str(), nullptr) == v) return s.str();
  }
  return std::to_string(v);
}

}  // namespace

ConfigSchema& ConfigSchema::AddEntry(const std::string& key, Entry entry) {
  PRLM_CHECK_MSG(!entries_.count(key), "config key " << key << " declared twice");
  entry.default_text = entry.get();
  entries_[key] = std::move(entry);
  order_.push_back(key);
  return *this;
}

ConfigSchema& ConfigSchema::Add(const std::string& key, bool* field, const std::string& help) {
  Entry e{"bool", {}, help, "", nullptr, nullptr};
  e.set = [field, key](const std::string& t, const std::string& where) {
    if (t == "true" || t == "True" || t == "yes")
      *field = true;
    else if (t == "false" || t == "False" || t == "no")
      *field = false;
    else
      PRLM_THROW(where << ": " << key << " must be true or false, got '" << t << "'");
  };
  e.get = [field] { return std::string(*field ? "true" : "false"); };
  return AddEntry(key, std::move(e));
}

ConfigSchema& ConfigSchema::Add(const std::string& key, int64_t* field, const std::string& help) {
  Entry e{"int", {}, help, "", nullptr, nullptr};
  e.set = [field, key](const std::string& t, const std::string& where) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    PRLM_REQUIRE(!t.empty() && end && *end == '\0' && errno == 0,
                 where << ": " << key << " must be an integer, got '" << t << "'");
    *field = v;
  };
  e.get = [field] { return std::to_string(*field); };
  return AddEntry(key, std::move(e));
}

ConfigSchema& ConfigSchema::Add(const std::string& key, double* field, const std::string& help) {
  Entry e{"number", {}, help, "", nullptr, nullptr};
  e.set = [field, key](const std::string& t, const std::string& where) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    PRLM_REQUIRE(!t.empty() && end && *end == '\0' && errno == 0 && std::isfinite(v),
                 where << ": " << key << " must be a number, got '" << t << "'");
    *field = v;
  };
  e.get = [field] { return NumberText(*field); };
  return AddEntry(key, std::move(e));
}

ConfigSchema& ConfigSchema::Add(const std::string& key, std::string* field, const std::string& help) {
  Entry e{"string", {}, help, "", nullptr, nullptr};
  e.set = [field](const std::string& t, const std::string&) { *field = t; };
  e.get = [field] { return *field; };
  return AddEntry(key, std::move(e));
}

ConfigSchema& ConfigSchema::AddChoice(const std::string& key, std::string* field, std::vector<std::string> choices,
                                      const std::string& help) {
  const auto names = choices;
  return AddIndexedChoice(
      key, std::move(choices), [field, names](size_t i) { *field = names[i]; },
      [field, names] { return static_cast<size_t>(std::find(names.begin(), names.end(), *field) - names.begin()); },
      help);
}

ConfigSchema& ConfigSchema::AddIndexedChoice(const std::string& key, std::vector<std::string> choices,
                                             std::function<void(size_t)> set, std::function<size_t()> get,
                                             const std::string& help) {
  Entry e{"choice", choices, help, "", nullptr, nullptr};
  e.set = [set, key, choices](const std::string& t, const std::string& where) {
    const auto it = std::find(choices.begin(), choices.end(), t);
    if (it == choices.end()) {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
      PRLM_THROW(where << ": " << key << " must be one of " << list << ", got '" << t << "'");
    }
    set(static_cast<size_t>(it - choices.begin()));
  };
  // A string field set in code to a name outside the list is written as is.
  e.get = [get, choices] {
    const size_t i = get();
    return i < choices.size() ? choices[i] : std::string();
  };
  return AddEntry(key, std::move(e));
}

ConfigSchema::KeyInfo ConfigSchema::Info(const std::string& key) const {
  const auto it = entries_.find(key);
  PRLM_CHECK_MSG(it != entries_.end(), "config key " << key << " is not declared");
  return {it->second.type, it->second.choices, it->second.help, it->second.get()};
}

void ConfigSchema::UnknownKey(const std::string& key, const std::string& where) const {
  const size_t dot = key.rfind('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot + 1);
  std::string valid;
  for (const auto& k : order_)
    if (k.compare(0, section.size(), section) == 0) valid += " " + k;
  if (valid.empty())
    for (const auto& k : order_) valid += " " + k;
  PRLM_THROW(where << ": unknown config key '" << key << "'; valid keys"
                   << (section.empty() ? "" : " in '" + section.substr(0, section.size() - 1) + "'") << ":" << valid);
}

void ConfigSchema::SetScalar(const std::string& key, const std::string& text, const std::string& where) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) UnknownKey(key, where);
  it->second.set(text, where);
  set_.insert(key);
}

void ConfigSchema::Walk(const YAML::Node& node, const std::string& prefix, const std::string& source) {
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const std::string where = Where(source, kv.first.Mark());
    const YAML::Node& value = kv.second;
    if (value.IsMap()) {
      bool is_section = false;
      for (const auto& k : order_) is_section |= k.compare(0, key.size() + 1, key + ".") == 0;
      if (!is_section) {
        if (entries_.count(key)) PRLM_THROW(where << ": " << key << " must be a single value, not a mapping");
        UnknownKey(key, where);
      }
      Walk(value, key, source);
    } else if (value.IsScalar()) {
      SetScalar(key, value.Scalar(), where);
    } else if (value.IsNull()) {
      if (!entries_.count(key)) UnknownKey(key, where);  // an empty value leaves the default
    } else {
      if (!entries_.count(key)) UnknownKey(key, where);
      PRLM_THROW(where << ": " << key << " must be a single value, not a list");
    }
  }
}

void ConfigSchema::LoadYamlText(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    PRLM_THROW(Where(source, e.mark) << ": not valid YAML: " << e.msg);
  }
  if (root.IsNull()) return;  // an empty file: every default
  PRLM_REQUIRE(root.IsMap(), source << ": the config must be a mapping of sections (model:, data:, ...)");
  Walk(root, "", source);
}

void ConfigSchema::LoadYamlFile(const std::string& path) { LoadYamlText(util::ReadFile(path), path); }

void ConfigSchema::ApplyOverride(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  const std::string where = "override '" + assignment + "'";
  PRLM_REQUIRE(eq != std::string::npos && eq > 0, where << " is not dotted.key=value");
  const std::string key = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    PRLM_THROW(where << ": the value is not valid YAML: " << e.msg);
  }
  if (value.IsNull()) return SetScalar(key, "", where);
  PRLM_REQUIRE(value.IsScalar(), where << ": " << key << " takes a single value");
  SetScalar(key, value.Scalar(), where);
}

std::string ConfigSchema::ToYaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::vector<std::string> open;  // the sections the emitter is inside
  for (const auto& key : order_) {
    std::vector<std::string> parts;
    std::stringstream in(key);
    for (std::string p; std::getline(in, p, '.');) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    while (open.size() > common) out << YAML::EndMap, open.pop_back();
    for (size_t i = common; i + 1 < parts.size(); ++i)
      out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap, open.push_back(parts[i]);
    const Entry& e = entries_.at(key);
    out << YAML::Key << parts.back() << YAML::Value;
    if (e.type == "string" || e.type == "choice")
      out << YAML::DoubleQuoted << e.get();
    else
      out << e.get();
  }
  while (!open.empty()) out << YAML::EndMap, open.pop_back();
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string ConfigSchema::Describe() const {
  std::string out;
  for (const auto& key : order_) {
    const Entry& e = entries_.at(key);
    std::string type = e.type;
    if (e.type == "choice") {
      type.clear();
      for (const auto& c : e.choices) type += (type.empty() ? "" : "|") + c;
    }
    out += "  " + key + " (" + type + ", default " + (e.default_text.empty() ? "\"\"" : e.default_text) +
           "): " + e.help + "\n";
  }
  return out;
}

}  // namespace prlm::config
