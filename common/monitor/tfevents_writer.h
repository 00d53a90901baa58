// Writes TensorBoard event files natively, so `tensorboard --logdir RUN/tensorboard`
// shows a run's curves without Python on the training nodes.
//
// The file format (TensorFlow's TFRecord framing of Event protos): a sequence
// of records, each
//     uint64 length (little-endian)
//     uint32 masked CRC-32C of the 8 length bytes
//     length bytes: a serialized Event
//     uint32 masked CRC-32C of those bytes
// The first Event of a file carries file_version "brain.Event:2"; each later
// one a step, a wall time and scalar summaries (tag, simple_value).
//
// A writer owns one new file, DIR/events.out.tfevents.<unix time>.<host>.<pid>.prlm
// (TensorBoard reads every file whose name contains "tfevents", so a resumed
// run simply adds a file). Each WriteScalars is flushed before it returns: a
// live TensorBoard sees a step as soon as it is written, and a killed job
// loses nothing already written.
//
// Thread-safety: one writer per thread (the coordinator's step loop).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prlm::monitor {

// One framed record around `data`.
std::string FrameRecord(std::string_view data);

class TfEventsWriter {
 public:
  // Creates `dir` if needed and the event file in it. Throws util::Error
  // naming the path when it cannot be created.
  explicit TfEventsWriter(const std::string& dir);
  ~TfEventsWriter();
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  // One event with a scalar per (tag, value). wall_time < 0: now.
  // Throws util::Error when the write fails (disk full).
  void WriteScalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars, double wall_time = -1);

  const std::string& path() const { return path_; }

 private:
  void WriteRecord(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace prlm::monitor
