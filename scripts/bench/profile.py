"""Summarise a py-spy profile in collapsed-stack form: `python -m scripts.bench.profile FILE [TOP]`.

Prints where the samples were taken (self time) and which frames they passed through (inclusive), so a profile
recorded with BENCH_PROFILE can be read without a flame-graph viewer.
"""

import collections
import re
import sys
from pathlib import Path


def summarise(path: Path, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    through: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        by_package[_package(frames[-1])] += samples
        for frame in set(frames):
            through[frame] += samples
    print(f"{total} samples")
    for title, counter in (("self, by package", by_package), ("self", own), ("inclusive", through)):
        print(f"--- {title}")
        for frame, samples in counter.most_common(top):
            print(f"{100 * samples / max(total, 1):5.1f}%  {frame}")


def _package(frame: str) -> str:
    match = re.search(r"\(([^:)]+)", frame)
    return match.group(1).split("/")[0] if match else frame


if __name__ == "__main__":
    summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 30)
