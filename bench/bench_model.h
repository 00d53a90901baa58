// The model a benchmark runs: --model DIR, or one initialised from --preset
// into --workdir, on the device the compute options choose (the same options
// in every benchmark that takes a decoder).
#pragma once

#include <string>

#include "options/args.h"
#include "options/compute_options.h"
#include "pipeline/init_model.h"

namespace prlm::bench {

// --model, --preset, --workdir and the compute options (--device, --dtype, --threads).
inline void AddModelOptions(options::Args& args) {
  args.Option("model", "DIR", "", "decoder model directory (default: make one from --preset)")
      .Option("preset", "NAME", "tiny", "preset when no --model (tiny, small)")
      .Option("workdir", "DIR", "out/bench", "where a preset model is written");
  options::AddComputeOptions(args);
}

struct BenchModel {
  std::string dir;
  model::ComputeDevice where;
};

// After args.Parse: the model's directory (made from --preset when there is
// no --model) and the device, its CPU threads set.
inline BenchModel SetUpModel(const options::Args& args) {
  BenchModel m;
  m.dir = args.Get("model");
  if (m.dir.empty()) {
    pipeline::InitModelSpec spec;
    spec.preset = args.Get("preset");
    spec.out_dir = args.Get("workdir") + "/qwen2-" + spec.preset;
    pipeline::InitModelDir(spec);
    m.dir = spec.out_dir;
  }
  m.where = options::SetUpCompute(args);
  return m;
}

}  // namespace prlm::bench
