int dummy_bench;
namespace prlm::cli { int RunBench(int, char**) { return 0; } }
