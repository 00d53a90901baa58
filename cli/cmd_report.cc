// prlm report RUN_DIR: plots and a markdown summary of a training run
// (pipeline/run_report.h).
#include "cli/args.h"
#include "cli/commands.h"
#include "common/util/check.h"
#include "pipeline/run_report.h"

namespace prlm::cli {

int RunReport(int argc, char** argv) {
  Args args("report", "Plots (PNG) and a markdown summary of a training run directory.");
  args.Option("out", "DIR", "", "where to write (default RUN_DIR/report)").Positional("RUN_DIR", "the run");
  if (!args.Parse(argc, argv)) return 0;
  PRLM_REQUIRE(args.positional().size() == 1, "report: give one RUN_DIR (see prlm report --help)");
  const std::string run = args.positional()[0];
  pipeline::WriteRunReport(run, args.Get("out").empty() ? run + "/report" : args.Get("out"));
  return 0;
}

}  // namespace prlm::cli
