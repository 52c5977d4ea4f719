"""The trial program of tests/pipelines/faults.yaml: one fault per value of x.

0 reports a metric; 1 crashes with a traceback; 2 prints garbage (not UTF-8, no JSON);
3 prints metrics without the sweep's metric; 4 hangs past the timeout; 5 dies of a signal
(SIGSEGV); 6 fails its first attempt only (a file in $FAULTS_DIR remembers it), then
reports a metric; 7 prints a NaN metric."""
import json
import os
import signal
import sys
import time

x = int(sys.argv[1])
if x == 1:
    raise RuntimeError("x = 1 crashes")
if x == 2:
    sys.stdout.buffer.write(b"\xff\xfe garbage \x00\x01 {not json\n")
    sys.exit(0)
if x == 3:
    print(json.dumps({"loss": 1.0}))
    sys.exit(0)
if x == 4:
    time.sleep(60)
if x == 5:
    os.kill(os.getpid(), signal.SIGSEGV)
if x == 6:
    marker = os.path.join(os.environ["FAULTS_DIR"], "6-ran-once")
    if not os.path.exists(marker):
        open(marker, "w").close()
        print("transient failure: the disk is busy", file=sys.stderr)
        sys.exit(3)
print(json.dumps({"value": "NaN" if x == 7 else float(x)}))
