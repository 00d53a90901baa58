// Training jobs across simulated hosts (tests/hosts/hosts.sh: network and UTS
// namespaces on a bridge of their own, each host with its own name and
// address; Open MPI reaches them through tests/hosts/rsh_agent, as ssh
// reaches cluster nodes). In the `hosts` test group:
//  - the harness: each host has its own name and address and resolves the
//    others by name, and sees nothing of this machine's network;
//  - GRPO with the coordinator, the services and one learner on node1 and
//    the rollout worker and the second learner on node2 (the requests to the
//    services, the gradient all-reduce and the weight broadcast cross hosts),
//    over TLS with a site certificate for node1 from a CA (the host name is
//    checked): the same metrics as the same job on one host, and again with
//    2% of node2's TCP packets dropped (nftables; the drops counted);
//  - node2's link down for 20 s mid-job: survived, the same metrics;
//  - a certificate that names another host: the job stops, saying so;
//  - node2 killed mid-job: the job ends within trainer.rank_timeout_s + 30 s,
//    and launch/run leaves status.json "failed" with mpirun's words and
//    where each rank ran;
//  - rollout.elastic: the rollout worker on node2 killed: the job learns what
//    the one-host job without rollout.elastic learns; a worker joins from
//    node2, node2 is killed, the job goes on;
//  - Slurm with a slurmd per host: a two-node job preempted and resumed; an
//    elastic job that loses a rollout worker, takes one from a second job
//    (launch/submit --join) on the other node, loses it too, and goes on.
// Needs root (network namespaces); ctest runs it serially.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>

#include "common/util/file.h"
#include "tests/job_test_util.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using Json = nlohmann::json;
using testing::Shell;

const std::string kId = "ht";  // the harness's tag: its namespaces are prlm-ht-*
std::string HostsScript() { return std::string(PRLM_SOURCE_DIR) + "/tests/hosts/hosts.sh"; }
std::string Prlm() { return PRLM_BINARY; }
std::string On(const std::string& host) { return HostsScript() + " exec " + kId + " " + host + " "; }

// mpirun on node1 (the "login node"), reaching node2 through the agent.
std::string Mpirun(int np, const std::string& hostfile) {
  std::string cmd = On("node1") + "timeout 600 mpirun --allow-run-as-root --oversubscribe --bind-to none -np " +
                    std::to_string(np) + " --mca plm_rsh_agent " + PRLM_SOURCE_DIR + "/tests/hosts/rsh_agent";
  if (!hostfile.empty()) cmd += " --mca rmaps seq --hostfile " + hostfile;
  return cmd + " " + Prlm() + " train";
}

// The metrics that are functions of the data and the seeds (not of time).
Json Deterministic(const std::vector<Json>& metrics) {
  Json out = Json::array();
  for (const auto& m : metrics) {
    Json kept;
    for (const auto& [key, value] : m.items())
      if (!testing::VariesRunToRun(key) && key.rfind("service/", 0) != 0) kept[key] = value;
    out.push_back(kept);
  }
  return out;
}

// A Slurm cluster with one slurmd per host (launch/slurm-local --nodes 2 in
// `dir`), stopped when it is destroyed; its commands run on node1 (the login
// node), launch/submit from `cwd`.
class SlurmOnHosts {
 public:
  SlurmOnHosts(const std::string& dir, const std::string& cwd) : dir_(dir), cwd_(cwd) {
    const auto started =
        Shell(std::string(PRLM_SOURCE_DIR) + "/launch/slurm-local start " + dir + " 16 --nodes 2 --hosts " + kId);
    started_ = started.code == 0;
    EXPECT_TRUE(started_) << started.out;
    ::setenv("SLURM_CONF", (dir + "/slurm.conf").c_str(), 1);
  }
  ~SlurmOnHosts() { Shell(std::string(PRLM_SOURCE_DIR) + "/launch/slurm-local stop " + dir_); }
  bool started() const { return started_; }
  // launch/submit CONFIG `args`; returns the job id (its last line).
  std::string Submit(const std::string& config, const std::string& args) const {
    const auto r = Shell(On("node1") + "sh -c 'cd " + cwd_ + " && " + PRLM_SOURCE_DIR + "/launch/submit " + config +
                         " " + args + "'");
    EXPECT_EQ(r.code, 0) << r.out;
    const std::string last = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    return last.substr(last.find_last_of('\n') + 1);
  }
  // Waits (at most 300 s) until the job leaves the queue; returns its record.
  std::string WaitForJob(const std::string& job) const {
    for (int i = 0; i < 600; ++i) {
      if (Shell(On("node1") + "squeue -h -j " + job).out.find_first_not_of(" \n") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Shell(On("node1") + "scontrol show job " + job).out;
  }

 private:
  std::string dir_, cwd_;
  bool started_ = false;
};

class Hosts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("PRLM_HOSTS_ID", kId.c_str(), 1);  // for rsh_agent, through mpirun
    Shell(HostsScript() + " down " + kId);      // what a crashed run may have left
    const auto up = Shell(HostsScript() + " up " + kId + " 2");
    ASSERT_EQ(up.code, 0) << up.out;
    dir_ = new testing::TempDir();
    const std::string d = dir_->str();
    const auto prep = testing::MakeTinyJobInputs(Prlm(), d, d + "/random");
    ASSERT_EQ(prep.code, 0) << prep.out;
    // A CA, a certificate for node1 and one for another host.
    const auto certs = Shell(
        "cd " + d +
        " && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.pem -subj /CN=prlm-test-ca -days 2 2>&1 && for h in node1 node9; do "
        "printf 'subjectAltName=DNS:%s\\n' $h > $h.ext && openssl req -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -keyout $h.key -out $h.csr -subj /CN=$h 2>&1 && openssl x509 -req -in "
        "$h.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $h.ext -out $h.pem 2>&1 || exit 1; done");
    ASSERT_EQ(certs.code, 0) << certs.out;
    std::ofstream(d + "/base.yaml") << "model: {policy: " << d << "/random}\n"
                                    << "data: {dir: " << d << "/data}\n"
                                    << "retrieval: {k: 1}\n"
                                    << "reward: {w_pers: 0}\n"
                                    << "grpo: {max_prompt_tokens: 400, max_completion_tokens: 32}\n"
                                    << "trainer: {prompts_per_step: 4, micro_batch_size: 4, rank_timeout_s: 30}\n"
                                    << "layout: {retrieval: 1, reward: 1, rollout: 1, learners: 2}\n"
                                    << "optim: {lr: 0.003, warmup_ratio: 0}\n";
    // Ranks in order (coordinator, retrieval, reward, rollout, learner 0,
    // learner 1) onto hosts, one line each (Open MPI's seq mapper).
    std::ofstream(d + "/split") << "node1\nnode1\nnode1\nnode2\nnode1\nnode2\n";
  }
  static void TearDownTestSuite() {
    delete slurm_;
    slurm_ = nullptr;
    delete dir_;
    Shell(HostsScript() + " down " + kId);
  }
  static std::string D(const std::string& name) { return *dir_ / name; }
  static std::string Config() { return " --config " + D("base.yaml") + " "; }
  static std::string SiteTls(const std::string& host) {
    return " net.tls_cert=" + D(host + ".pem") + " net.tls_key=" + D(host + ".key") + " net.tls_ca=" + D("ca.pem");
  }
  // The Slurm cluster of the tests that use one, started by the first.
  static const SlurmOnHosts& Slurm() {
    if (!slurm_) slurm_ = new SlurmOnHosts(D("slurm"), dir_->str());
    return *slurm_;
  }
  static testing::TempDir* dir_;
  static SlurmOnHosts* slurm_;
};
testing::TempDir* Hosts::dir_ = nullptr;
SlurmOnHosts* Hosts::slurm_ = nullptr;

// Slurm with one slurmd per host (launch/slurm-local --nodes 2): a job of
// two nodes (launch/submit --nodes 2) places ranks on both; scancel
// --signal=USR1 preempts it (checkpoint, exit 0, status.json "preempted"),
// and the resubmitted job resumes from that checkpoint.
TEST_F(Hosts, SlurmAcrossTwoNodesPreemptsAndResumes) {
  const SlurmOnHosts& slurm = Slurm();
  ASSERT_TRUE(slurm.started());
  const std::string run = D("slurm-run");
  const std::string job = " --nodes 2 layout.learners=1 trainer.output_dir=" + run + " trainer.total_steps=500";
  const std::string first = slurm.Submit(D("base.yaml"), job);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180)))
      << util::ReadFile(run + "/slurm/slurm-" + first + ".out");
  ASSERT_EQ(Shell(On("node1") + "scancel --signal=USR1 " + first).code, 0);
  const std::string state = slurm.WaitForJob(first);
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state;
  const std::string log = util::ReadFile(run + "/slurm/slurm-" + first + ".out");
  EXPECT_NE(log.find(" on node1 (pid"), std::string::npos) << log;
  EXPECT_NE(log.find(" on node2 (pid"), std::string::npos) << log;
  const Json status = Json::parse(util::ReadFile(run + "/status.json"));
  ASSERT_EQ(status["state"], "preempted") << status.dump() << "\n" << log;
  const int steps = status["step"].get<int>();
  const std::string again = slurm.Submit(D("base.yaml"), job + " trainer.stop_after_steps=1");
  slurm.WaitForJob(again);
  EXPECT_NE(util::ReadFile(run + "/slurm/slurm-" + again + ".out").find("resuming from "), std::string::npos);
  const auto m = testing::Metrics(run);
  ASSERT_EQ(m.size(), static_cast<size_t>(steps + 1));
  EXPECT_EQ(m.back()["training/global_step"].get<int>(), steps + 1);
}

// rollout.elastic under Slurm: the job (six ranks on node1, under mpirun
// within the allocation) loses rollout worker 1 to a SIGKILL and goes on; a second job on node2 (launch/submit --join)
// adds a worker, which fetches the weights across hosts and works; that job cancelled, its worker is lost too, and the
// job goes on until it is preempted as usual.
TEST_F(Hosts, AnElasticSlurmJobTakesAWorkerFromASecondJobAndLosesWorkersAtNoCost) {
  const SlurmOnHosts& slurm = Slurm();
  ASSERT_TRUE(slurm.started());
  const std::string run = D("slurm-elastic");
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("slurm-secret")).code, 0);
  const std::string job =
      " layout.rollout=2 layout.learners=1 model.cpu_threads=1 trainer.total_steps=500 "
      "rollout.elastic=true rollout.lease_s=3 rollout.item_prompts=1 net.secret_file=" +
      D("slurm-secret") + " trainer.output_dir=" + run;
  const auto out = [&](const std::string& id) { return util::ReadFile(run + "/slurm/slurm-" + id + ".out"); };
  // The steps after the last one so far: rollout/workers and the lost sum.
  const auto after = [&](size_t from, const char* key) {
    int64_t most = 0, sum = 0;
    const auto m = testing::Metrics(run);
    for (size_t s = from; s < m.size(); ++s) {
      most = std::max(most, m[s].value(key, int64_t{0}));
      sum += m[s].value(key, int64_t{0});
    }
    return std::string(key) == "rollout/workers" ? most : sum;
  };
  const auto wait_until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 900 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return done();
  };
  // 1. The job; rollout worker 1 (rank 4) killed after its first step.
  const std::string main = slurm.Submit(D("base.yaml"), "--nodes 1 --sbatch --nodelist=node1" + job);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << out(main);
  const long pid = testing::PidOfRank(run, 4);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return after(0, "rollout/lost_workers") >= 1; })) << out(main);
  // 2. A worker from a second job on node2.
  const size_t joined_from = testing::Metrics(run).size();
  const std::string join = slurm.Submit(D("base.yaml"), "--join --sbatch --nodelist=node2" + job);
  ASSERT_TRUE(wait_until([&] { return after(joined_from, "rollout/workers") == 2; })) << out(join) << out(main);
  // 3. That job cancelled: its worker lost, and the steps go on.
  ASSERT_EQ(Shell(On("node1") + "scancel " + join).code, 0);
  slurm.WaitForJob(join);
  ASSERT_TRUE(wait_until([&] { return after(joined_from, "rollout/lost_workers") >= 1; })) << out(main);
  const size_t now = testing::Metrics(run).size();
  EXPECT_TRUE(testing::WaitForSteps(run, now + 2, std::chrono::seconds(120))) << "steps go on without both";
  // 4. Preempted: a checkpoint, exit 0, "preempted" (mpirun, which runs an
  //    elastic job's ranks, takes the signal through the batch shell).
  ASSERT_EQ(Shell(On("node1") + "scancel --batch --signal=USR1 " + main).code, 0);
  const std::string state = slurm.WaitForJob(main);
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state << out(main);
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "preempted") << out(main);
  const std::string log = util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_NE(log.find("rollout workers lost: rollout 1 on node1"), std::string::npos) << log;
  EXPECT_NE(log.find("rollout workers lost: node2:"), std::string::npos) << log;
  EXPECT_NE(out(join).find("joining the gateway at node1:"), std::string::npos) << out(join);
  EXPECT_NE(out(join).find("weights v"), std::string::npos) << out(join);
}

}  // namespace
}  // namespace prlm
