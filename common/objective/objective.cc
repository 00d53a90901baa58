#include "common/objective/objective.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "common/config/train_config.h"
#include "common/objective/grpo_objective.h"
#include "common/objective/rest_objective.h"
#include "common/objective/sft_objective.h"
#include "common/util/check.h"
#include "proto/train.pb.h"

namespace prlm::objective {

std::unique_ptr<Objective> MakeObjective(const config::TrainConfig& config) {
  switch (config.grpo.objective) {
    case config::ObjectiveKind::kGrpo:
      return std::make_unique<GrpoObjective>(config.grpo);
    case config::ObjectiveKind::kSft:
      return std::make_unique<SftObjective>();
    case config::ObjectiveKind::kRest:
      return std::make_unique<RestObjective>(config.rest);
  }
  PRLM_CHECK_MSG(false, "no objective class for grpo.objective " << config::NameOf(config.grpo.objective));
  return nullptr;
}

bool RunsOneStepOff(const config::TrainConfig& config) {
  return config.grpo.max_staleness > 0 && MakeObjective(config)->allows_one_step_off();
}

void AddLearnerStats(const proto::LearnerStats& from, proto::LearnerStats* into) {
  // By reflection, so a field an objective adds is summed without code here.
  const auto* descriptor = proto::LearnerStats::descriptor();
  const auto* reflection = proto::LearnerStats::GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    PRLM_CHECK_MSG(field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE && !field->is_repeated(),
                   "LearnerStats." << field->name() << " must be a plain double to be summed");
    reflection->SetDouble(into, field, reflection->GetDouble(*into, field) + reflection->GetDouble(from, field));
  }
}

}  // namespace prlm::objective
