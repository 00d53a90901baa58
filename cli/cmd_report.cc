// prlm report RUN_DIR: charts and a markdown summary of a training run (or runs)
// (pipeline/run_report.h).
#include "cli/commands.h"
#include "common/util/check.h"
#include "options/args.h"
#include "pipeline/run_report.h"

namespace prlm::cli {

int RunReport(int argc, char** argv) {
  options::Args args(
      "report",
      "SVG charts and a markdown summary of a training run directory, or of every run under a pipeline's "
      "directory with its eval tables.");
  args.Option("out", "DIR", "", "where to write (default RUN_DIR/report)")
      .Option("smoothing", "W", "0.6", "the charts' moving-average weight in [0, 1), as TensorBoard's (0: raw only)")
      .Positional("RUN_DIR", "a run (trainer.output_dir) or a directory holding runs and eval JSON (launch/demo's)");
  if (!args.Parse(argc, argv)) return 0;
  PRLM_REQUIRE(args.positional().size() == 1, "report: give one RUN_DIR (see prlm report --help)");
  const std::string run = args.positional()[0];
  pipeline::WriteRunReport(run, args.Get("out").empty() ? run + "/report" : args.Get("out"),
                           args.GetDouble("smoothing"));
  return 0;
}

}  // namespace prlm::cli
