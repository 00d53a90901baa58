// A typed, declared set of configuration keys bound to the fields of a
// struct, filled from a YAML file (nested maps) and from dotted command-line
// overrides ("trainer.lr=1e-6").
//
// Every key must be declared: an unknown key, a value of the wrong type, or a
// choice outside its list is refused with a util::Error naming the source
// (file:line:column, or the override), the dotted key, what was expected, and,
// for an unknown key, the valid keys of its section.
//
// Thread-safety: not thread-safe; fill it on one thread, then read the struct.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config/enums.h"

namespace YAML {
class Node;
}

namespace prlm::config {

class ConfigSchema {
 public:
  ConfigSchema& Add(const std::string& key, bool* field, const std::string& help);
  ConfigSchema& Add(const std::string& key, int64_t* field, const std::string& help);
  ConfigSchema& Add(const std::string& key, double* field, const std::string& help);
  ConfigSchema& Add(const std::string& key, std::string* field, const std::string& help);
  ConfigSchema& AddChoice(const std::string& key, std::string* field, std::vector<std::string> choices,
                          const std::string& help);
  // An enum-valued key (common/config/enums.h): its names are the choices.
  template <class E>
  ConfigSchema& AddEnum(const std::string& key, E* field, const std::string& help) {
    return AddIndexedChoice(
        key, EnumNameList<E>(), [field](size_t i) { *field = static_cast<E>(i); },
        [field] { return static_cast<size_t>(*field); }, help);
  }

  void LoadYamlFile(const std::string& path);
  void LoadYamlText(const std::string& text, const std::string& source);
  // "dotted.key=value"; the value is read as YAML (a number, true/false, a string).
  void ApplyOverride(const std::string& assignment);
  // One key's value as text; `where` names the source in errors (a flag, say).
  void SetValue(const std::string& key, const std::string& text, const std::string& where) {
    SetScalar(key, text, where);
  }

  // The current values as YAML, every key (for a run's effective config).
  std::string ToYaml() const;
  // "key (type, default ...): help" lines, for --help.
  std::string Describe() const;

  // One declared key, for commands that map their flags onto keys.
  struct KeyInfo {
    std::string type;  // bool, int, number, string, choice
    std::vector<std::string> choices;
    std::string help;
    std::string value;  // the current value, as ToYaml writes it
  };
  // REQUIRES: `key` is declared.
  KeyInfo Info(const std::string& key) const;
  bool Has(const std::string& key) const { return entries_.count(key) > 0; }
  // Whether a file or an override gave `key` a value (a default another key
  // implies applies only when none did).
  bool WasSet(const std::string& key) const { return set_.count(key) > 0; }

 private:
  struct Entry {
    std::string type;  // bool, int, number, string, choice
    std::vector<std::string> choices;
    std::string help, default_text;
    std::function<void(const std::string& text, const std::string& where)> set;  // from a scalar's text
    std::function<std::string()> get;
  };
  ConfigSchema& AddEntry(const std::string& key, Entry entry);
  ConfigSchema& AddIndexedChoice(const std::string& key, std::vector<std::string> choices,
                                 std::function<void(size_t)> set, std::function<size_t()> get, const std::string& help);
  void Walk(const YAML::Node& node, const std::string& prefix, const std::string& source);
  void SetScalar(const std::string& key, const std::string& text, const std::string& where);
  [[noreturn]] void UnknownKey(const std::string& key, const std::string& where) const;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  std::set<std::string> set_;  // keys given a value
};

}  // namespace prlm::config
