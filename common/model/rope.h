// Rotary position embeddings as Hugging Face config.json describes them:
// rope_theta, the head dimension, and `rope_scaling` of type default,
// linear, dynamic, llama3 or yarn, with the parameters each reads. The
// frequencies follow transformers' modeling_rope_utils:
//
//   default  inv_freq_i = 1 / theta^(2i / d)
//   linear   inv_freq / factor
//   dynamic  (NTK) theta' = theta * (factor * L / L0 - (factor - 1))^(d / (d - 2))
//            for a sequence of L > L0 positions (L0 = max_position_embeddings);
//            the default frequencies up to L0
//   llama3   wavelengths above L0 / low_freq_factor divided by factor, below
//            L0 / high_freq_factor kept, smoothly mixed in between
//            (L0 = original_max_position_embeddings)
//   yarn     interpolation (inv_freq / factor) and extrapolation mixed by a
//            linear ramp over the dimensions between the correction dims of
//            beta_fast and beta_slow rotations in L0 positions; cos and sin
//            are multiplied by attention_factor (default 0.1 ln(factor) + 1,
//            or the ratio of mscale terms when mscale / mscale_all_dim given)
//
// L0 for yarn is rope_scaling's original_max_position_embeddings when given,
// else max_position_embeddings; `factor` is always the one written.
//
// No torch dependency; frequencies are computed in double. Plain values;
// thread-safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::model {

struct RopeScaling {
  std::string type = "default";  // default | linear | dynamic | llama3 | yarn
  double factor = 1;
  int64_t original_max_position_embeddings = 0;      // 0: not given
  double low_freq_factor = 1, high_freq_factor = 4;  // llama3
  double beta_fast = 32, beta_slow = 1;              // yarn
  double attention_factor = 0;                       // yarn; 0: derived
  double mscale = 0, mscale_all_dim = 0;             // yarn (DeepSeek); 0: not given
};

struct RopeParameters {
  double theta = 10000;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  RopeScaling scaling;
};

// The d/2 inverse frequencies for a forward pass whose positions reach
// `positions` (the largest position + 1; only dynamic reads it).
std::vector<double> RopeInverseFrequencies(const RopeParameters& rope, int64_t positions);

// What cos and sin are multiplied by (1 except for yarn).
double RopeAttentionFactor(const RopeParameters& rope);

// True when the frequencies depend on the sequence (dynamic).
bool RopeDependsOnLength(const RopeParameters& rope);

}  // namespace prlm::model
