// The enum-like configuration values, each with its names in one table.
//
// A config key of one of these types is declared with ConfigSchema::AddEnum,
// which lists the names in --keys, refuses others with the valid list, and
// writes the name back into a run's config.yaml. Code compares enum values,
// never strings. A new value is added here (enum and table, same order) and
// nowhere else in the configuration code.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace prlm::config {

// What training minimises (common/objective/objective.h has one class each).
enum class ObjectiveKind { kGrpo, kSft, kRest };
// The personalization reward: PrLM's contrastive BT model, or LoRe per user.
enum class PersonalizationKind { kBt, kLore };
// Where each REST-PG M-step starts fine-tuning from.
enum class RestInit { kBase, kPrevious };
// The KL estimator of the GRPO loss (Schulman's k1, k2, k3).
enum class KlEstimator { kK1, kK2, kK3 };
// How token losses become a micro-batch's loss.
enum class LossAggregation { kTokenMean, kSequenceMean, kConstant };
// How group-centred rewards are scaled into advantages.
enum class AdvantageScaling { kGroupStd, kBatchStd, kNone };
// The learning-rate schedule (Hugging Face's definitions).
enum class LrScheduleKind { kCosine, kLinear, kConstant };
// The off-policy correction of the GRPO policy term
// (common/objective/off_policy_correction.h).
enum class OffPolicyCorrection { kAuto, kNone, kDecoupled, kTisToken, kTisSequence, kMaskToken, kMaskSequence };
// What a weight update does to an item's generation in flight
// (grpo.partial_rollouts; docs/async.md): nothing until the item ends (off),
// or between two decode steps, the samples continuing under the new weights
// (continue) or restarting from their prompts (requeue).
enum class PartialRollouts { kOff, kContinue, kRequeue };
// Where a prompt's profile items come from.
enum class RetrieverKind { kBm25, kDense, kDenseHnsw, kRecency, kRandom, kNone };

// names[i] is the config name of the enum value i.
template <class E>
struct EnumNames;
template <>
struct EnumNames<ObjectiveKind> {
  static constexpr std::array<std::string_view, 3> names = {"grpo", "sft", "rest"};
};
template <>
struct EnumNames<PersonalizationKind> {
  static constexpr std::array<std::string_view, 2> names = {"bt", "lore"};
};
template <>
struct EnumNames<RestInit> {
  static constexpr std::array<std::string_view, 2> names = {"base", "previous"};
};
template <>
struct EnumNames<KlEstimator> {
  static constexpr std::array<std::string_view, 3> names = {"k1", "k2", "k3"};
};
template <>
struct EnumNames<LossAggregation> {
  static constexpr std::array<std::string_view, 3> names = {"token_mean", "sequence_mean", "constant"};
};
template <>
struct EnumNames<AdvantageScaling> {
  static constexpr std::array<std::string_view, 3> names = {"group", "batch", "none"};
};
template <>
struct EnumNames<LrScheduleKind> {
  static constexpr std::array<std::string_view, 3> names = {"cosine", "linear", "constant"};
};
template <>
struct EnumNames<OffPolicyCorrection> {
  static constexpr std::array<std::string_view, 7> names = {"auto",         "none",       "decoupled",    "tis_token",
                                                            "tis_sequence", "mask_token", "mask_sequence"};
};
template <>
struct EnumNames<PartialRollouts> {
  static constexpr std::array<std::string_view, 3> names = {"off", "continue", "requeue"};
};
template <>
struct EnumNames<RetrieverKind> {
  static constexpr std::array<std::string_view, 6> names = {"bm25", "dense", "dense_hnsw", "recency", "random", "none"};
};

template <class E>
constexpr std::string_view NameOf(E value) {
  return EnumNames<E>::names[static_cast<size_t>(value)];
}

template <class E>
std::vector<std::string> EnumNameList() {
  return {EnumNames<E>::names.begin(), EnumNames<E>::names.end()};
}

// Retrievers that search a built index (the others need none).
constexpr bool NeedsIndex(RetrieverKind r) {
  return r == RetrieverKind::kBm25 || r == RetrieverKind::kDense || r == RetrieverKind::kDenseHnsw;
}
constexpr bool IsDense(RetrieverKind r) { return r == RetrieverKind::kDense || r == RetrieverKind::kDenseHnsw; }

}  // namespace prlm::config
