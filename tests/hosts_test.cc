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
//    2% of node2's TCP packets dropped (nftables; the drops counted), and
//    again with 20 ms each way on node2's connections (a delaying relay);
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
  // launch/run on node1 (a 500-step job split over both hosts) in the
  // background, as a user starts it; returns the file its exit code lands in.
  static std::string LaunchRunInBackground(const std::string& run, const std::string& overrides) {
    return testing::StartInBackground(On("node1") + "env OMPI_MCA_plm_rsh_agent=" + PRLM_SOURCE_DIR +
                                          "/tests/hosts/rsh_agent OMPI_MCA_rmaps=seq " + PRLM_SOURCE_DIR +
                                          "/launch/run " + D("base.yaml") + " --np 6 --hostfile " + D("split") +
                                          " trainer.total_steps=500 " + overrides + " trainer.output_dir=" + run,
                                      run);
  }
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

TEST_F(Hosts, EachHostHasItsOwnNameAndAddressAndKnowsTheOthers) {
  for (const char* host : {"node1", "node2"}) {
    const auto r = Shell(On(host) + "sh -c 'hostname; getent hosts node1 node2; ip -o -4 addr show'");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.substr(0, 6), std::string(host) + "\n") << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("10\\.211\\.0\\.11 +node1"))) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("10\\.211\\.0\\.12 +node2"))) << r.out;
    // Its own address on eth0, loopback, and nothing of this machine's.
    EXPECT_NE(r.out.find(std::string("inet 10.211.0.1") + host[4]), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("inet 10.211.0.1" + std::string(1, host[4] == '1' ? '2' : '1')), std::string::npos);
    size_t addresses = 0;
    for (size_t at = r.out.find(" inet "); at != std::string::npos; at = r.out.find(" inet ", at + 1)) ++addresses;
    EXPECT_EQ(addresses, 2u) << r.out;
  }
  // Open MPI starts a rank on each, through the agent.
  const auto r = Shell(On("node1") + "mpirun --allow-run-as-root -np 2 --host node1,node2 --mca plm_rsh_agent " +
                       PRLM_SOURCE_DIR + "/tests/hosts/rsh_agent hostname");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("node1"), std::string::npos);
  EXPECT_NE(r.out.find("node2"), std::string::npos);
}

TEST_F(Hosts, GrpoAcrossTwoHostsMatchesOneHostAlsoWithPacketLossOrLatency) {
  const std::string steps = " trainer.total_steps=3";
  // 1. One host.
  auto r = Shell(Mpirun(6, "") + Config() + "trainer.output_dir=" + D("one-host") + steps + SiteTls("node1"));
  ASSERT_EQ(r.code, 0) << r.out;
  const Json reference = Deterministic(testing::Metrics(D("one-host")));
  ASSERT_EQ(reference.size(), 3u);
  // 2. Two hosts: the rollout worker and learner 1 on node2.
  r = Shell(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + D("two-hosts") + steps + SiteTls("node1"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(util::ReadFile(D("two-hosts/logs/rank-3.log")).find("rollout 0 on node2"), std::string::npos);
  EXPECT_NE(util::ReadFile(D("two-hosts/logs/rank-5.log")).find("learner 1 on node2"), std::string::npos);
  EXPECT_NE(util::ReadFile(D("two-hosts/logs/rank-1.log")).find("on node1"), std::string::npos);
  EXPECT_EQ(Deterministic(testing::Metrics(D("two-hosts"))), reference);
  // 3. Two hosts, 2% of node2's TCP packets dropped.
  ASSERT_EQ(Shell(HostsScript() + " loss " + kId + " node2 2").code, 0);
  r = Shell(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + D("lossy") + steps + SiteTls("node1"));
  const auto counted = Shell(On("node2") + "nft list table inet prlm_loss");
  Shell(HostsScript() + " loss " + kId + " node2 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Deterministic(testing::Metrics(D("lossy"))), reference);
  const size_t at = counted.out.find("packets ");
  ASSERT_NE(at, std::string::npos) << counted.out;
  EXPECT_GT(std::stoul(counted.out.substr(at + 8)), 0u) << "packets were dropped: " << counted.out;
  std::printf("with 2%% loss on node2: %s\n", counted.out.substr(at, counted.out.find(' ', at + 8) - at).c_str());
  // 4. Two hosts, 20 ms each way on every connection node2 opens (a relay:
  //    no netem here), the services' calls and MPI's links among them.
  ASSERT_EQ(Shell(HostsScript() + " delay " + kId + " node2 20 " + PRLM_DELAY_RELAY).code, 0);
  r = Shell(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + D("delayed") + steps + SiteTls("node1"));
  const std::string relayed = util::ReadFile("/tmp/prlm-hosts-" + kId + "-node2-delay.log");
  Shell(HostsScript() + " delay " + kId + " node2 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Deterministic(testing::Metrics(D("delayed"))), reference);
  size_t connections = 0;
  for (size_t at = relayed.find("relayed"); at != std::string::npos; at = relayed.find("relayed", at + 1))
    ++connections;
  EXPECT_GE(connections, 2u) << "node2's rollout worker reaches the retrieval shard and the reward server: " << relayed;
  EXPECT_NE(relayed.find("10.211.0.11:"), std::string::npos) << relayed;
  std::printf("with 20 ms each way on node2: %zu connections relayed\n", connections);
}

// node2's link down for 20 s mid-job, shorter than the timeouts (the
// retrieval calls' 15 s deadline times their attempts, MPI's TCP retries):
// the job waits it out and its metrics are those of a clean run.
TEST_F(Hosts, ALinkDownShorterThanTheTimeoutsIsSurvived) {
  // The services' retry budgets must outlast the 20 s outage: an unreachable
  // network fails a connect at once, so 4 attempts (0.5 + 1 + 2 s of
  // back-off) were spent in 19 s once on a loaded machine; 8 wait up to 35 s.
  const std::string overrides =
      " trainer.total_steps=4 retrieval.timeout_ms=15000 retrieval.attempts=8 "
      "reward.attempts=8" +
      SiteTls("node1");
  auto r = Shell(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + D("link-clean") + overrides);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string run = D("link-down");
  const std::string rc =
      testing::StartInBackground(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + run + overrides, run);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  ASSERT_EQ(Shell(HostsScript() + " link " + kId + " node2 down").code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(20));
  ASSERT_EQ(Shell(HostsScript() + " link " + kId + " node2 up").code, 0);
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(300))) << util::ReadFile(run + ".out");
  ASSERT_EQ(std::stoi(util::ReadFile(rc)), 0) << util::ReadFile(run + ".out");
  EXPECT_EQ(Deterministic(testing::Metrics(run)), Deterministic(testing::Metrics(D("link-clean"))));
}

TEST_F(Hosts, ACertificateForAnotherHostStopsTheJobSayingSo) {
  const auto r = Shell(Mpirun(6, D("split")) + Config() + "trainer.output_dir=" + D("wrong-name") +
                       " trainer.total_steps=1" + SiteTls("node9"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("does not name 'node1'"), std::string::npos) << r.out;
}

TEST_F(Hosts, ALostHostEndsTheJobAndStatusJsonSaysSo) {
  const std::string run = D("lost");
  const std::string rc = LaunchRunInBackground(run, "");
  ASSERT_TRUE(testing::WaitForSteps(run, 2, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(Shell(HostsScript() + " kill " + kId + " node2").code, 0);
  // trainer.rank_timeout_s is 30: the job must be over 30 s after that.
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(90))) << "the job still runs 90 s after node2 died";
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LE(waited, 60.0);
  std::printf("the job ended %.1f s after node2 was killed\n", waited);
  EXPECT_NE(std::stoi(util::ReadFile(rc)), 0);
  const Json status = Json::parse(util::ReadFile(run + "/status.json"));
  EXPECT_EQ(status["state"], "failed") << status.dump();
  // mpirun's words, and where each rank ran (Open MPI does not always name
  // the host it lost: here its rsh agent died with the host).
  const std::string message = status.value("message", "");
  EXPECT_NE(message.find("mpirun exited"), std::string::npos) << message;
  EXPECT_NE(message.find("ORTE"), std::string::npos) << message << "\n" << util::ReadFile(run + ".out");
  EXPECT_NE(message.find("rank 3 rollout 0 on node2"), std::string::npos) << message;
  EXPECT_NE(message.find("rank 5 learner 1 on node2"), std::string::npos) << message;
  EXPECT_EQ(status.value("who", ""), "launcher");
  std::printf("status.json: %s\n", status.dump().c_str());
  EXPECT_GE(status.value("step", 0), 2) << status.dump();
}

// node2's link down for longer than the timeouts (it stays down): rank 0
// names the ranks it hears nothing from and aborts; mpirun, unable to reach
// node2's ranks, would wait minutes for TCP to give up, so launch/run stops
// it 15 s after status.json says "failed" (lib.sh wait_launcher). The job
// ends within trainer.rank_timeout_s + 30 s, status.json naming a rank on
// node2.
TEST_F(Hosts, ALinkDownLongerThanTheTimeoutsEndsTheJobNamingTheRank) {
  const std::string run = D("link-lost");
  const std::string rc = LaunchRunInBackground(run, "trainer.rank_timeout_s=10");
  ASSERT_TRUE(testing::WaitForSteps(run, 2, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  const auto down_at = std::chrono::steady_clock::now();
  ASSERT_EQ(Shell(HostsScript() + " link " + kId + " node2 down").code, 0);
  const bool ended = testing::WaitForFile(rc, std::chrono::seconds(120));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - down_at).count();
  ASSERT_EQ(Shell(HostsScript() + " link " + kId + " node2 up").code, 0);
  ASSERT_TRUE(ended) << "the job still runs 120 s after node2's link went down\n"
                     << util::ReadFile(run + ".out") << "\nrank 0:\n"
                     << util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_LE(waited, 40.0);
  EXPECT_NE(util::ReadFile(run + ".out").find("launch/run: the run failed"), std::string::npos)
      << "mpirun was stopped: " << util::ReadFile(run + ".out");
  std::printf("the job ended %.1f s after node2's link went down\n", waited);
  EXPECT_NE(std::stoi(util::ReadFile(rc)), 0);
  const Json status = Json::parse(util::ReadFile(run + "/status.json"));
  EXPECT_EQ(status["state"], "failed") << status.dump();
  EXPECT_NE(status.value("message", "").find("on node2"), std::string::npos) << status.dump();
  std::printf("status.json: %s\n", status.dump().c_str());
}

// rollout.elastic across hosts: launch/run (which starts mpirun so that a
// dead rollout worker does not end the job) with rollout worker 1 on node2;
// that worker SIGKILLed after the first step. The job finishes, and every
// step learns what the same job learns on one host without rollout.elastic.
TEST_F(Hosts, AnElasticJobAcrossHostsGoesOnWithoutItsWorkerOnNode2) {
  const std::string job = " layout.rollout=2 layout.learners=1 model.cpu_threads=1 trainer.total_steps=40";
  const auto one = Shell(Mpirun(6, "") + Config() + "trainer.output_dir=" + D("elastic-reference") + job);
  ASSERT_EQ(one.code, 0) << one.out;
  // Ranks: coordinator, shard, reward server, rollout 0 on node1; rollout 1 on node2; the learner on node1.
  std::ofstream(D("split-rollout")) << "node1\nnode1\nnode1\nnode1\nnode2\nnode1\n";
  const std::string run = D("elastic-node2");
  const std::string rc = testing::StartInBackground(
      On("node1") + "env OMPI_MCA_plm_rsh_agent=" + PRLM_SOURCE_DIR + "/tests/hosts/rsh_agent OMPI_MCA_rmaps=seq " +
          PRLM_SOURCE_DIR + "/launch/run " + D("base.yaml") + " --np 6 --hostfile " + D("split-rollout") + job +
          " rollout.elastic=true rollout.lease_s=2 trainer.output_dir=" + run,
      run);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  ASSERT_NE(util::ReadFile(run + "/logs/rank-4.log").find("rollout 1 on node2"), std::string::npos);
  const long pid = testing::PidOfRank(run, 4);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(300))) << "the job still runs 300 s after the kill";
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(run + ".out");
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "finished");
  const auto reference = testing::Metrics(D("elastic-reference"));
  ASSERT_EQ(reference.size(), 40u);
  EXPECT_EQ(testing::ExpectSameLearningCountingLostWorkers(reference, testing::Metrics(run)), 1);
  EXPECT_NE(util::ReadFile(run + "/logs/rank-0.log").find("rollout workers lost: rollout 1 on node2"),
            std::string::npos);
}

// rollout.elastic across hosts: the job on node1 (launch/run, which starts
// mpirun for an elastic job), one more rollout worker joining from node2
// (`prlm rollout --join node1:PORT`: the gateway, the services and the
// weight relay reached across the bridge). node2 killed: its worker is lost,
// its work re-issued, and the job goes on with node1's worker.
TEST_F(Hosts, ALostHostOfAJoinedRolloutWorkerCostsItsLeaseNotTheJob) {
  const std::string run = D("elastic");
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("elastic-secret")).code, 0);
  const std::string rc = testing::StartInBackground(
      On("node1") + PRLM_SOURCE_DIR + "/launch/run " + D("base.yaml") +
          " --np 6 trainer.total_steps=500 rollout.elastic=true rollout.lease_s=3 rollout.item_prompts=1 "
          "net.secret_file=" +
          D("elastic-secret") + " trainer.output_dir=" + run,
      run);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  std::string gateway = util::ReadFile(run + "/gateway");
  gateway = gateway.substr(0, gateway.find('\n'));
  EXPECT_EQ(gateway.rfind("node1:", 0), 0u) << gateway;
  const std::string joiner_rc =
      testing::StartInBackground(On("node2") + Prlm() + " rollout --join " + gateway + " --secret-file " +
                                     D("elastic-secret") + " --name worker-on-node2",
                                 D("joiner"));
  ASSERT_TRUE(testing::WaitForMetric(run, "rollout/workers", 2, std::chrono::seconds(120)))
      << util::ReadFile(D("joiner.out"));
  ASSERT_EQ(Shell(HostsScript() + " kill " + kId + " node2").code, 0);
  EXPECT_TRUE(testing::WaitForFile(joiner_rc, std::chrono::seconds(30)));
  EXPECT_TRUE(testing::WaitForMetric(run, "rollout/lost_workers", 1, std::chrono::seconds(120)));
  const size_t now = testing::Metrics(run).size();
  EXPECT_TRUE(testing::WaitForSteps(run, now + 2, std::chrono::seconds(120))) << "steps go on without node2";
  kill(static_cast<pid_t>(testing::PidOfRank(run, 0)), SIGUSR1);  // end with a checkpoint
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(120)));
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(run + ".out");
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "preempted");
  const std::string log = util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_NE(log.find("rollout workers lost: worker-on-node2"), std::string::npos) << log;
  EXPECT_NE(util::ReadFile(D("joiner.out")).find("weights v"), std::string::npos) << util::ReadFile(D("joiner.out"));
}

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
