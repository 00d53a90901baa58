#include "options/args.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <sstream>

#include "common/util/check.h"

namespace prlm::options {

Args::Args(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

Args& Args::Option(const std::string& name, const std::string& value_name, const std::string& default_value,
                   const std::string& help, bool required) {
  PRLM_CHECK_MSG(!specs_.count(name), command_ << ": option --" << name << " declared twice");
  order_.push_back(name);
  specs_[name] = {value_name, default_value, help, false, required};
  return *this;
}

Args& Args::Flag(const std::string& name, const std::string& help) {
  PRLM_CHECK_MSG(!specs_.count(name), command_ << ": option --" << name << " declared twice");
  order_.push_back(name);
  specs_[name] = {"", "", help, true, false};
  return *this;
}

namespace {

// The shortest text that reads back as `d` ("5e-05", "0.1"), whole numbers
// without an exponent ("100").
std::string ShortestDouble(double d) {
  char buf[32];
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

}  // namespace

Args& Args::Bind(const std::string& name, const std::string& value_name, Target target, const std::string& help,
                 bool required) {
  const std::string default_value = std::visit(
      [](auto* t) -> std::string {
        using T = std::remove_pointer_t<decltype(t)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return *t;
        } else if constexpr (std::is_same_v<T, double>) {
          return ShortestDouble(*t);
        } else if constexpr (std::is_same_v<T, std::vector<int>> || std::is_same_v<T, std::vector<int64_t>>) {
          std::string list;
          for (const auto v : *t) list += (list.empty() ? "" : ",") + std::to_string(v);
          return list;
        } else {
          return std::to_string(*t);
        }
      },
      target);
  Option(name, value_name, required ? "" : default_value, help, required);
  bound_.emplace_back(name, target);
  return *this;
}

Args& Args::Bind(const std::string& name, bool* target, const std::string& help) {
  Flag(name, help);
  bound_flags_.emplace_back(name, target);
  return *this;
}

void Args::WriteBound() {
  for (auto& [name, target] : bound_) {
    if (!Has(name)) continue;
    std::visit(
        [&, &name = name](auto* t) {
          using T = std::remove_pointer_t<decltype(t)>;
          if constexpr (std::is_same_v<T, std::string>) {
            *t = Get(name);
          } else if constexpr (std::is_same_v<T, double>) {
            *t = GetDouble(name);
          } else if constexpr (std::is_same_v<T, int>) {
            *t = GetInt(name);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            *t = GetInt64(name);
          } else if constexpr (std::is_same_v<T, std::vector<int>> || std::is_same_v<T, std::vector<int64_t>>) {
            const auto values = GetPositiveInts(name);
            t->assign(values.begin(), values.end());
          } else {
            *t = GetUint64(name);
          }
        },
        target);
  }
  for (auto& [name, target] : bound_flags_)
    if (Has(name)) *target = true;
}

Args& Args::Positional(const std::string& name, const std::string& help) {
  positional_specs_.emplace_back(name, help);
  return *this;
}

std::string Args::Usage() const {
  std::ostringstream os;
  os << "usage: prlm " << command_ << " [options]";
  for (const auto& [n, h] : positional_specs_) os << " " << n;
  os << "\n\n" << summary_ << "\n\noptions:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.is_flag ? "" : " " + s.value_name);
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      left += "\n" + std::string(30, ' ');
    os << left << s.help;
    if (s.required)
      os << " (required)";
    else if (!s.is_flag && !s.default_value.empty())
      os << " (default: " << s.default_value << ")";
    os << "\n";
  }
  os << "  --help                      print this help\n";
  for (const auto& [n, h] : positional_specs_) {
    std::string left = "  " + n;
    if (left.size() < 30) left.resize(30, ' ');
    os << left << h << "\n";
  }
  return os.str();
}

bool Args::Parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(Usage().c_str(), stdout);
      return false;
    }
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_inline = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1), name = name.substr(0, eq), has_inline = true;
    }
    const auto it = specs_.find(name);
    if (it == specs_.end()) {
      std::ostringstream valid;
      for (const auto& n : order_) valid << " --" << n;
      PRLM_THROW("prlm " << command_ << ": unknown option '--" << name << "'; valid options:" << valid.str());
    }
    if (it->second.is_flag) {
      PRLM_REQUIRE(!has_inline, "prlm " << command_ << ": --" << name << " takes no value");
      values_[name] = "1";
      continue;
    }
    if (!has_inline) {
      PRLM_REQUIRE(i + 1 < argc,
                   "prlm " << command_ << ": --" << name << " needs a value (" << it->second.value_name << ")");
      value = argv[++i];
    }
    values_[name] = value;
  }
  for (const auto& [name, s] : specs_)
    PRLM_REQUIRE(!s.required || values_.count(name), "prlm " << command_ << ": --" << name << " is required\n"
                                                             << Usage());
  WriteBound();
  return true;
}

std::string Args::Get(const std::string& name) const {
  PRLM_CHECK_MSG(specs_.count(name), "undeclared option " << name);
  const auto it = values_.find(name);
  return it != values_.end() ? it->second : specs_.at(name).default_value;
}

bool Args::Has(const std::string& name) const { return values_.count(name) > 0; }

void Args::Set(const std::string& name, const std::string& value) {
  PRLM_CHECK(specs_.count(name));
  values_[name] = value;
}
bool Args::GetFlag(const std::string& name) const { return Has(name); }

int Args::GetInt(const std::string& name) const {
  const int64_t n = GetInt64(name);
  PRLM_REQUIRE(n >= INT32_MIN && n <= INT32_MAX,
               "prlm " << command_ << ": --" << name << " is out of range, got " << n);
  return static_cast<int>(n);
}

int64_t Args::GetInt64(const std::string& name) const {
  const std::string v = Get(name);
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used == v.size()) return static_cast<int64_t>(n);
  } catch (const std::exception&) {
  }
  PRLM_THROW("prlm " << command_ << ": --" << name << " expects an integer, got '" << v << "'");
}

uint64_t Args::GetUint64(const std::string& name) const {
  const int64_t n = GetInt64(name);
  PRLM_REQUIRE(n >= 0, "prlm " << command_ << ": --" << name << " must not be negative, got " << n);
  return static_cast<uint64_t>(n);
}

double Args::GetDouble(const std::string& name) const {
  const std::string v = Get(name);
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  PRLM_THROW("prlm " << command_ << ": --" << name << " expects a number, got '" << v << "'");
}

std::vector<int> Args::GetPositiveInts(const std::string& name) const {
  const std::string v = Get(name);
  std::vector<int> out;
  for (const auto& item : SplitList(v)) {
    size_t used = 0;
    long n = 0;
    try {
      n = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    PRLM_REQUIRE(
        used == item.size() && n > 0 && n <= INT32_MAX,
        "prlm " << command_ << ": --" << name << " expects comma-separated positive integers, got '" << v << "'");
    out.push_back(static_cast<int>(n));
  }
  PRLM_REQUIRE(!out.empty(), "prlm " << command_ << ": --" << name
                                     << " expects comma-separated positive integers, got '" << v << "'");
  return out;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace prlm::options
