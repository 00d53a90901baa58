// Monitoring: CRC-32C against published check values, TensorBoard event
// files read back by an independent reader (tests/tools/read_tfevents.py),
// Prometheus text checked by Debian's promtool, the /metrics endpoint
// over real HTTP, and the SVG charts' smoothing, ticks and gaps.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/monitor/metrics_endpoint.h"
#include "common/monitor/prometheus_text.h"
#include "common/monitor/svg_chart.h"
#include "common/monitor/tfevents_writer.h"
#include "common/util/crc32c.h"
#include "common/util/file.h"
#include "tests/test_util.h"

namespace prlm::monitor {
namespace {

using testing::Shell;

TEST(SvgChart, SmoothingTicksGapsAndEscaping) {
  // TensorBoard's debiased moving average, by hand for weight 0.5:
  // 0.5 / 0.5 = 1; (0.25 + 1.5) / 0.75; a NaN is skipped; (0.875 + 2.5) / 0.875.
  const std::vector<double> s = SmoothEma({1, 3, NAN, 5}, 0.5);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 1.75 / 0.75);
  EXPECT_TRUE(std::isnan(s[2]));
  EXPECT_DOUBLE_EQ(s[3], 3.375 / 0.875);
  EXPECT_EQ(SmoothEma({2, 4}, 0.0), (std::vector<double>{2, 4}));
  const std::vector<double> ticks = NiceTicks(0, 1, 5);
  ASSERT_EQ(ticks.size(), 6u);
  EXPECT_DOUBLE_EQ(ticks[1], 0.2);
  EXPECT_DOUBLE_EQ(ticks[5], 1.0);
  EXPECT_EQ(NiceTicks(3, 47, 4), (std::vector<double>{10, 20, 30, 40}));
  // A gap (NaN) starts a new sub-path; names are escaped for XML.
  ChartOptions options;
  options.title = "a <b> & c";
  options.smoothing = 0;
  const std::string svg = DrawLineChartSvg({{"x<y", {1, 2, 3, 4}, {1, 2, NAN, 4}}}, options);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; c"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">x&lt;y</text>"), std::string::npos) << svg;
  const size_t d = svg.find("<path d=\"");
  ASSERT_NE(d, std::string::npos);
  const std::string path = svg.substr(d, svg.find('"', d + 9) - d);
  EXPECT_EQ(std::count(path.begin(), path.end(), 'M'), 2) << path;
  EXPECT_EQ(std::count(path.begin(), path.end(), 'L'), 1) << path;
}

TEST(Crc32c, MatchesPublishedCheckValues) {
  // The CRC catalogue's check value, and RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(util::Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(util::Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(util::Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(util::Crc32cPortable("123456789", 9), 0xE3069283u);
  // Hardware and table paths agree on every length and alignment; chunks chain.
  std::mt19937 rng(7);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t n : {0, 1, 7, 8, 9, 63, 64, 65, 999})
    for (size_t off : {0, 1, 3}) {
      EXPECT_EQ(util::Crc32c(data.data() + off, n), util::Crc32cPortable(data.data() + off, n)) << n << "@" << off;
      EXPECT_EQ(util::Crc32c(data.data() + off + n / 3, n - n / 3, util::Crc32c(data.data() + off, n / 3)),
                util::Crc32c(data.data() + off, n));
    }
}

TEST(TfEvents, IndependentReaderSeesEveryScalarAndChecksTheCrcs) {
  testing::TempDir dir;
  std::string path;
  {
    TfEventsWriter w(dir / "tb");
    path = w.path();
    w.WriteScalars(1, {{"critic/score/mean", 0.25}, {"actor/kl_loss", 0.001}}, 1000.5);
    w.WriteScalars(2, {{"critic/score/mean", 0.5}, {"timing_s/gen", 3.0}, {"actor/kl_loss", 0.0}});
  }
  EXPECT_NE(path.find("/tb/events.out.tfevents."), std::string::npos);
  const auto r = Shell(std::string("python3 ") + PRLM_SOURCE_DIR + "/tests/tools/read_tfevents.py " + path);
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<nlohmann::json> events;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  EXPECT_EQ(events[1]["step"], 1);
  EXPECT_DOUBLE_EQ(events[1]["wall_time"].get<double>(), 1000.5);
  EXPECT_FLOAT_EQ(events[1]["scalars"]["critic/score/mean"].get<float>(), 0.25f);
  EXPECT_FLOAT_EQ(events[1]["scalars"]["actor/kl_loss"].get<float>(), 0.001f);
  EXPECT_EQ(events[2]["step"], 2);
  EXPECT_FLOAT_EQ(events[2]["scalars"]["timing_s/gen"].get<float>(), 3.0f);
  // A scalar of exactly 0 is written too (TensorBoard would otherwise drop the point).
  ASSERT_TRUE(events[2]["scalars"].contains("actor/kl_loss")) << events[2];
  EXPECT_EQ(events[2]["scalars"]["actor/kl_loss"].get<float>(), 0.0f);
  // One flipped byte in the second record's payload: the reader refuses it.
  std::string bytes = util::ReadFile(path);
  const size_t first_record = 16 + bytes[0];  // the file-version record is under 256 bytes
  bytes[first_record + 12 + 3] ^= 0x40;
  testing::WriteBytes(path, bytes);
  const auto bad = Shell(std::string("python3 ") + PRLM_SOURCE_DIR + "/tests/tools/read_tfevents.py " + path);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("bad data CRC"), std::string::npos) << bad.out;
}

std::vector<MetricFamily> SomeFamilies() {
  return {{"prlm_step", "Steps completed.", "gauge", {{{}, 12}}},
          {"prlm_phase_seconds",
           "Wall time of each phase of the last step.",
           "gauge",
           {{{{"phase", "gen"}}, 0.5}, {{{"phase", "update_actor"}}, 1.25}}},
          {"prlm_service_retries_total",
           "Retried calls to a service.",
           "counter",
           {{{{"service", "reward"}}, 3}, {{{"service", "retrieval"}}, 0}}},
          {"prlm_odd",
           "A label value with \"quotes\" and a \\ backslash.",
           "gauge",
           {{{{"what", "a \"b\" \\ c\nd"}}, std::nan("")}}}};
}

TEST(PrometheusText, PromtoolAcceptsIt) {
  EXPECT_EQ(PrometheusName("actor/pg_loss"), "actor_pg_loss");
  EXPECT_EQ(PrometheusName("9lives-x"), "_9lives_x");
  const std::string text = RenderPrometheusText(SomeFamilies());
  EXPECT_NE(text.find("prlm_phase_seconds{phase=\"gen\"} 0.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("prlm_odd{what=\"a \\\"b\\\" \\\\ c\\nd\"} NaN\n"), std::string::npos) << text;
  testing::TempDir dir;
  testing::WriteBytes(dir / "m.txt", text);
  const auto r = Shell("promtool check metrics < " + dir / "m.txt");
  EXPECT_EQ(r.code, 0) << r.out << text;
  // promtool does find fault with a counter missing its _total suffix, so the check has teeth.
  testing::WriteBytes(dir / "bad.txt", "# HELP x_count c\n# TYPE x_count counter\nx_count 1\n");
  EXPECT_NE(Shell("promtool check metrics < " + dir / "bad.txt").out.find("_total"), std::string::npos);
}

TEST(MetricsEndpoint, ServesTheLatestTextOverHttp) {
  MetricsEndpoint endpoint("127.0.0.1", 0);
  endpoint.Publish(RenderPrometheusText(SomeFamilies()));
  const std::string url = "http://127.0.0.1:" + std::to_string(endpoint.port());
  auto r = Shell("curl -sS -i " + url + "/metrics");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prlm_step 12"), std::string::npos) << r.out;
  EXPECT_EQ(endpoint.scrapes(), 1u);
  endpoint.Publish("# HELP prlm_step Steps completed.\n# TYPE prlm_step gauge\nprlm_step 13\n");
  r = Shell("curl -sS " + url + "/metrics | promtool check metrics && curl -sS " + url + "/metrics");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("prlm_step 13"), std::string::npos) << r.out;
  EXPECT_NE(Shell("curl -sS -i " + url + "/nope").out.find("404 Not Found"), std::string::npos);
  EXPECT_NE(Shell("curl -sS -i -X POST " + url + "/metrics").out.find("405"), std::string::npos);
  // A client that sends half a request and stalls does not block the next one.
  std::system(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(endpoint.port()) +
               "; printf \"GET /metr\" >&3; sleep 3' >/dev/null 2>&1 &")
                  .c_str());
  EXPECT_NE(Shell("curl -sS -m 2 " + url + "/metrics").out.find("prlm_step 13"), std::string::npos);
}

}  // namespace
}  // namespace prlm::monitor
