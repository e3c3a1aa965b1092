"""Writes LINES numbered lines to stdout as fast as it can, after noting its start time."""

import os
import sys
import time

lines = int(os.environ.get("LINES", "1000000"))
with open(os.environ["START_FILE"], "w") as start:
    start.write(repr(time.time()))
write = sys.stdout.write
for i in range(lines):
    write(f"line {i} of the log capture benchmark, some words to make it longer\n")
write("DONE\n")
sys.stdout.flush()
