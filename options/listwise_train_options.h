// The options of the listwise trainer (pipeline/retriever_trainer.h) that
// train-retriever (ROPG) and train-selector (RSPG) share, bound to a
// RetrieverTrainOptions (its defaults are the options' defaults), and the
// compute options.
#pragma once

#include "options/args.h"
#include "pipeline/retriever_trainer.h"

namespace prlm::options {

// `max_length_help` says what --max-length counts for this command.
void AddListwiseTrainOptions(Args& args, const char* max_length_help, pipeline::RetrieverTrainOptions* o);

}  // namespace prlm::options
