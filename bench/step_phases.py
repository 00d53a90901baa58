#!/usr/bin/env python3
"""Mean step time and each phase's share, from a run's metrics.jsonl.

usage: bench/step_phases.py RUN/metrics.jsonl [--skip N]   (skip the first N steps: warm-up)
"""
import json
import sys

path = sys.argv[1]
skip = int(sys.argv[sys.argv.index("--skip") + 1]) if "--skip" in sys.argv else 1
rows = [json.loads(line) for line in open(path)][skip:]
if not rows:
    sys.exit(f"{path}: no steps after skipping {skip}")
phases = [("retrieval", "timing_s/retrieval"), ("generation", "timing_s/gen"), ("reward", "timing_s/reward"),
          ("old log-probs", "timing_s/old_log_prob"), ("ref log-probs", "timing_s/ref"),
          ("update", "timing_s/update_actor"), ("weight sync", "timing_s/sync_weights")]
step = sum(r["timing_s/step"] for r in rows) / len(rows)
print(f"{len(rows)} steps (after {skip} skipped), mean {step:.3f} s/step, "
      f"{sum(r['perf/throughput'] for r in rows) / len(rows):.0f} tokens/s")
print("| phase | mean s | share of step |")
print("|---|---|---|")
covered = 0.0
for name, key in phases:
    mean = sum(r.get(key, 0.0) for r in rows) / len(rows)
    covered += mean
    print(f"| {name} | {mean:.3f} | {100 * mean / step:.1f}% |")
print(f"| other (messages, advantages, planning, waits) | {step - covered:.3f} | {100 * (step - covered) / step:.1f}% |")
