// Command-line options for prlm subcommands.
//
// Each subcommand declares its options (name, value name, default, help) and
// positional arguments; Parse() fills them from argv. An option may be bound
// to a field of an options struct (Bind): its default is the field's value,
// so the default is written once, and Parse() writes the field. `--help` prints every
// option. An unknown option, a missing value or a malformed number throws
// util::Error naming the option and listing the valid ones.
// Not thread-safe; used once per process.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace prlm::options {

class Args {
 public:
  Args(std::string command, std::string summary);

  // A valued option "--name VALUE". An empty default with required=true must be given.
  Args& Option(const std::string& name, const std::string& value_name, const std::string& default_value,
               const std::string& help, bool required = false);
  // A boolean "--name".
  Args& Flag(const std::string& name, const std::string& help);
  // A valued option whose default is *target's value now; Parse() writes the
  // value given into *target, refusing one that is not of its type (an
  // unsigned target refuses a negative value; a list target takes a comma
  // list of positive integers).
  // REQUIRES: target outlives Parse().
  using Target =
      std::variant<std::string*, int*, int64_t*, uint64_t*, double*, std::vector<int>*, std::vector<int64_t>*>;
  Args& Bind(const std::string& name, const std::string& value_name, Target target, const std::string& help,
             bool required = false);
  // A switch that sets *target to true when given.
  Args& Bind(const std::string& name, bool* target, const std::string& help);
  // Positional arguments (documented in usage), collected in order.
  Args& Positional(const std::string& name, const std::string& help);

  // Returns false if --help was asked (usage already printed).
  bool Parse(int argc, char** argv);

  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const;  // given on the command line
  bool GetFlag(const std::string& name) const;
  int GetInt(const std::string& name) const;
  int64_t GetInt64(const std::string& name) const;
  // A non-negative integer (a seed, a count); throws naming the option otherwise.
  uint64_t GetUint64(const std::string& name) const;
  double GetDouble(const std::string& name) const;
  // A comma list of positive integers ("1,8,32"); throws naming the option otherwise.
  std::vector<int> GetPositiveInts(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // As if "--name value" had been given (a command filling in a default it computed).
  // REQUIRES: name is a declared option.
  void Set(const std::string& name, const std::string& value);

  std::string Usage() const;

 private:
  struct Spec {
    std::string value_name, default_value, help;
    bool is_flag, required;
  };
  void WriteBound();
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, std::string>> positional_specs_;
  std::vector<std::string> positional_;
  std::vector<std::pair<std::string, Target>> bound_;
  std::vector<std::pair<std::string, bool*>> bound_flags_;
};

// "a,b,,c" -> {"a", "b", "c"}: an option's comma list.
std::vector<std::string> SplitList(const std::string& s);

}  // namespace prlm::options
