// The options collect-feedback and collect-selection share (ROPG, RSPG) and
// what they load from them on every rank: the scorer (in process, or the
// job's reward server with --reward-server), the split's window of
// questions (--offset, --limit), the frozen policy and the answering options
// (pipeline/retriever_feedback.h).
//
// Not thread-safe; used once per process, like Args.
#pragma once

#include <cstddef>

#include "common/config/train_config.h"
#include "common/data/dataset.h"
#include "options/args.h"
#include "options/config_flags.h"
#include "options/policy_options.h"
#include "pipeline/feedback_job.h"
#include "pipeline/retriever_feedback.h"

namespace prlm::options {

class FeedbackSetup {
 public:
  // Declares the shared options on `args`.
  // REQUIRES: `args` outlives this; Load after args.Parse.
  explicit FeedbackSetup(Args& args);

  // Loads the scorer, data, policy and answering options. Throws util::Error
  // naming the option for a bad value.
  void Load(const Args& args);

  pipeline::FeedbackScorer scorer;
  pipeline::FeedbackOptions options;
  data::Dataset dataset;
  LoadedPolicy policy;

 private:
  config::TrainConfig config_;
  ConfigFlags flags_;
  size_t offset_ = 0, limit_ = 0;
  double temperature_ = 0;
};

}  // namespace prlm::options
