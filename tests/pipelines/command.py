"""A stand-in for a user's training script (tests/pipelines/command.yaml): reads its
parameters from the arguments and the environment, reports three epochs and its metrics as
JSON lines. x = 3 crashes, x = 4 hangs (past the pipeline's timeout)."""
import json
import os
import sys
import time

x = float(sys.argv[sys.argv.index("--x") + 1])
assert float(os.environ["QS_PARAM_X"]) == x
assert json.loads(os.environ["QS_PARAMS"])["x"] == x
print("loading data...")  # not JSON: ignored
if x == 3:
    print("Traceback (most recent call last): ValueError: x = 3", file=sys.stderr)
    sys.exit(1)
if x == 4:
    time.sleep(60)
for epoch in range(3):
    print(json.dumps({"epoch": epoch, "train_loss": (x - 1) ** 2 + 1 / (epoch + 1)}), flush=True)
print(json.dumps({"value": (x - 1) ** 2, "seed": int(os.environ["QS_SEED"])}))
