#include "common/util/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <filesystem>

namespace prlm::util {
namespace {

std::string g_tag;  // "rank R ROLE", set once by InitRankLogging

std::string Pattern(const std::string& step) {
  return "[%Y-%m-%d %H:%M:%S.%e] [" + g_tag + "] [step " + step + "] [%l] %v";
}

}  // namespace

void InitRankLogging(const std::string& log_dir, int rank, const std::string& role, const std::string& level,
                     bool console_info) {
  std::filesystem::create_directories(log_dir);
  const auto lvl = level == "debug"  ? spdlog::level::debug
                   : level == "warn" ? spdlog::level::warn
                                     : spdlog::level::info;
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_dir + "/rank-" + std::to_string(rank) + ".log");
  file->set_level(lvl);
  auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  console->set_level(console_info ? spdlog::level::info : spdlog::level::warn);
  auto logger = std::make_shared<spdlog::logger>("prlm", spdlog::sinks_init_list{file, console});
  logger->set_level(std::min(lvl, console->level()));
  g_tag = "rank " + std::to_string(rank) + " " + role;
  logger->set_pattern(Pattern("-"));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace prlm::util

namespace prlm::util {

void SetLogStep(int64_t step) {
  if (!g_tag.empty()) spdlog::default_logger()->set_pattern(Pattern(std::to_string(step)));
}

}  // namespace prlm::util
