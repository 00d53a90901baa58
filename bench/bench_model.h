// The model a benchmark runs: --model DIR, or one initialised from --preset
// into --workdir (the same options in every benchmark that takes a model).
#pragma once

#include <string>

#include "cli/args.h"
#include "pipeline/init_model.h"

namespace prlm::cli {

inline std::string BenchModelDir(const Args& args) {
  if (!args.Get("model").empty()) return args.Get("model");
  pipeline::InitModelSpec spec;
  spec.preset = args.Get("preset");
  spec.out_dir = args.Get("workdir") + "/qwen2-" + spec.preset;
  pipeline::InitModelDir(spec);
  return spec.out_dir;
}

}  // namespace prlm::cli
