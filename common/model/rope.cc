#include "common/model/rope.h"

#include <algorithm>
#include <cmath>

#include "common/util/check.h"

namespace prlm::model {
namespace {

std::vector<double> DefaultFrequencies(double theta, int64_t dim) {
  std::vector<double> inv(static_cast<size_t>(dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / dim);
  return inv;
}

std::vector<double> Llama3(const RopeParameters& r) {
  const auto& s = r.scaling;
  auto inv = DefaultFrequencies(r.theta, r.head_dim);
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_wavelen = old_len / s.low_freq_factor, high_wavelen = old_len / s.high_freq_factor;
  for (auto& f : inv) {
    const double wavelen = 2 * M_PI / f;
    if (wavelen > low_wavelen) {
      f /= s.factor;  // long wavelengths: interpolate fully
    } else if (wavelen >= high_wavelen) {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = (1 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv;
}

double YarnMscale(double factor, double mscale) { return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }

std::vector<double> Yarn(const RopeParameters& r) {
  const auto& s = r.scaling;
  const double dim = static_cast<double>(r.head_dim);
  const double old_len = static_cast<double>(s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings
                                                                                    : r.max_position_embeddings);
  // The dimension at which a frequency turns `rotations` times in old_len positions.
  const auto correction_dim = [&](double rotations) {
    return dim * std::log(old_len / (rotations * 2 * M_PI)) / (2 * std::log(r.theta));
  };
  const double low = std::max(std::floor(correction_dim(s.beta_fast)), 0.0);
  double high = std::min(std::ceil(correction_dim(s.beta_slow)), dim - 1);
  if (low == high) high += 0.001;  // avoid a zero-width ramp
  auto inv = DefaultFrequencies(r.theta, r.head_dim);
  for (size_t i = 0; i < inv.size(); ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1 - ramp;  // share of the unscaled frequency
    inv[i] = inv[i] / s.factor * (1 - extrapolation) + inv[i] * extrapolation;
  }
  return inv;
}

}  // namespace

std::vector<double> RopeInverseFrequencies(const RopeParameters& r, int64_t positions) {
  PRLM_CHECK(r.head_dim > 0 && r.head_dim % 2 == 0);
  const auto& s = r.scaling;
  if (s.type == "default") return DefaultFrequencies(r.theta, r.head_dim);
  if (s.type == "linear") {
    auto inv = DefaultFrequencies(r.theta, r.head_dim);
    for (auto& f : inv) f /= s.factor;
    return inv;
  }
  if (s.type == "dynamic") {
    const double max_len = static_cast<double>(r.max_position_embeddings);
    const double len = std::max(static_cast<double>(positions), max_len);
    const double d = static_cast<double>(r.head_dim);
    const double theta = r.theta * std::pow(s.factor * len / max_len - (s.factor - 1), d / (d - 2));
    return DefaultFrequencies(theta, r.head_dim);
  }
  if (s.type == "llama3") return Llama3(r);
  PRLM_CHECK_MSG(s.type == "yarn", "unknown rope type '" << s.type << "' passed validation");
  return Yarn(r);
}

double RopeAttentionFactor(const RopeParameters& r) {
  const auto& s = r.scaling;
  if (s.type != "yarn") return 1.0;
  if (s.attention_factor > 0) return s.attention_factor;
  if (s.mscale > 0 && s.mscale_all_dim > 0)
    return YarnMscale(s.factor, s.mscale) / YarnMscale(s.factor, s.mscale_all_dim);
  return YarnMscale(s.factor, 1.0);
}

bool RopeDependsOnLength(const RopeParameters& r) { return r.scaling.type == "dynamic"; }

}  // namespace prlm::model
