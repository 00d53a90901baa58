// options::Args: bound options take their defaults from the struct they fill,
// and a value of the wrong type or sign is refused naming the option.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/check.h"
#include "options/args.h"

namespace prlm::options {
namespace {

struct Knobs {
  std::string name = "base";
  int steps = 3;
  int64_t tokens = 1;
  uint64_t seed = 42;
  double lr = 5e-5;
  double scale = 100;
  bool resume = false;
};

// Parses `words` (argv without the program) into a fresh Args bound to `k`.
bool ParseInto(Knobs* k, std::vector<std::string> words, std::string* usage = nullptr) {
  Args args("test", "a test command");
  args.Bind("name", "NAME", &k->name, "a name")
      .Bind("steps", "N", &k->steps, "steps")
      .Bind("tokens", "N", &k->tokens, "tokens")
      .Bind("seed", "S", &k->seed, "seed")
      .Bind("lr", "X", &k->lr, "learning rate")
      .Bind("scale", "X", &k->scale, "scale")
      .Bind("resume", &k->resume, "continue");
  if (usage) *usage = args.Usage();
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return args.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(Args, BoundDefaultsAreTheStructsAndShowInHelp) {
  Knobs k;
  std::string usage;
  ASSERT_TRUE(ParseInto(&k, {}, &usage));
  EXPECT_EQ(k.name, "base");
  EXPECT_EQ(k.steps, 3);
  EXPECT_EQ(k.seed, 42u);
  EXPECT_DOUBLE_EQ(k.lr, 5e-5);
  EXPECT_FALSE(k.resume);
  EXPECT_NE(usage.find("(default: 5e-05)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("(default: 100)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("(default: base)"), std::string::npos) << usage;
}

TEST(Args, BoundValuesAreWritten) {
  Knobs k;
  ASSERT_TRUE(
      ParseInto(&k, {"--name", "x", "--steps=7", "--tokens", "5000000000", "--seed", "9", "--lr", "0.25", "--resume"}));
  EXPECT_EQ(k.name, "x");
  EXPECT_EQ(k.steps, 7);
  EXPECT_EQ(k.tokens, 5000000000);
  EXPECT_EQ(k.seed, 9u);
  EXPECT_DOUBLE_EQ(k.lr, 0.25);
  EXPECT_TRUE(k.resume);
}

TEST(Args, WrongTypeSignOrRangeIsNamed) {
  const auto message = [](std::vector<std::string> words) {
    Knobs k;
    try {
      ParseInto(&k, words);
    } catch (const util::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"--steps", "3x"}).find("--steps expects an integer, got '3x'"), std::string::npos);
  EXPECT_NE(message({"--steps", "5000000000"}).find("--steps is out of range"), std::string::npos);
  EXPECT_NE(message({"--seed", "-1"}).find("--seed must not be negative"), std::string::npos);
  EXPECT_NE(message({"--lr", "fast"}).find("--lr expects a number, got 'fast'"), std::string::npos);
  EXPECT_NE(message({"--resume=1"}).find("--resume takes no value"), std::string::npos);
}

}  // namespace
}  // namespace prlm::options
