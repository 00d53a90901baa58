#include "common/monitor/tfevents_writer.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/util/check.h"
#include "common/util/crc32c.h"
#include "proto/tensorboard.pb.h"

namespace prlm::monitor {
namespace {

double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

void PutLittleEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string FrameRecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  PutLittleEndian(&out, data.size(), 8);
  PutLittleEndian(&out, util::MaskCrc32c(util::Crc32c(out.data(), 8)), 4);
  out.append(data);
  PutLittleEndian(&out, util::MaskCrc32c(util::Crc32c(data)), 4);
  return out;
}

TfEventsWriter::TfEventsWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  PRLM_REQUIRE(!ec, dir << ": cannot create the TensorBoard directory: " << ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const auto seconds = static_cast<long long>(Now());
  path_ =
      dir + "/events.out.tfevents." + std::to_string(seconds) + "." + host + "." + std::to_string(getpid()) + ".prlm";
  file_ = std::fopen(path_.c_str(), "wb");
  PRLM_REQUIRE(file_ != nullptr, path_ << ": cannot be created: " << std::strerror(errno));
  tensorboard::Event first;
  first.set_wall_time(Now());
  first.set_file_version("brain.Event:2");
  WriteRecord(first.SerializeAsString());
}

TfEventsWriter::~TfEventsWriter() {
  if (file_) std::fclose(file_);
}

void TfEventsWriter::WriteScalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                                  double wall_time) {
  tensorboard::Event event;
  event.set_wall_time(wall_time >= 0 ? wall_time : Now());
  event.set_step(step);
  auto* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    auto* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  WriteRecord(event.SerializeAsString());
}

void TfEventsWriter::WriteRecord(const std::string& event) {
  const std::string record = FrameRecord(event);
  const bool ok = std::fwrite(record.data(), 1, record.size(), file_) == record.size() && std::fflush(file_) == 0;
  PRLM_REQUIRE(ok, path_ << ": write failed: " << std::strerror(errno));
}

}  // namespace prlm::monitor
