// The --device / --dtype / --threads options shared by every command that
// runs a model, and turning them into a ComputeDevice with the CPU thread
// pools set for it.
#pragma once

#include "options/args.h"
#include "common/model/compute_setup.h"

namespace prlm::options {

void AddComputeOptions(Args& args);

// Resolves --device and --dtype, configures CPU threads for that dtype.
// Throws util::Error for an unknown or unavailable choice.
model::ComputeDevice SetUpCompute(const Args& args);

}  // namespace prlm::options
