"""The trial program of tests/pipelines/killable.yaml: Branin at (x1, x2), deterministic,
reported over four short epochs so that each trial takes a few tens of milliseconds and
writes learning curves (tests/e2e.rs kills the sweep at random moments)."""
import json
import math
import sys
import time

x1, x2 = float(sys.argv[1]), float(sys.argv[2])
b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
value = (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
for epoch in range(4):
    time.sleep(0.01)
    print(json.dumps({"epoch": epoch, "train_loss": value / (epoch + 1)}), flush=True)
print(json.dumps({"value": value, "x1_squared": x1 * x1}))
