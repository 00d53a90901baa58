// prlm check-data: validate a LaMP or LongLaMP data set and describe it.
//
// Thread-safety: a plain function.
#pragma once

#include <cstdio>
#include <string>

#include "common/data/dataset.h"

namespace prlm::pipeline {

// Loads `path` (a LaMP directory: every {train,dev,test,val}_questions.json
// found, a bad split reported without hiding the others; a LaMP questions
// file with `outputs_path`; or a LongLaMP file when `task` is LongLaMP's) and
// writes each split's statistics and load time to `out`. Throws util::Error
// naming the path when nothing loads or any split failed (after reporting all).
void CheckData(const std::string& path, const data::TaskSpec* task, const std::string& outputs_path, FILE* out);

}  // namespace prlm::pipeline
