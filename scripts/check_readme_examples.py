#!/usr/bin/env python
"""Run every shell example in the README's "Calling it" section against a running server.

Usage: `make run` in one terminal, then `python scripts/check_readme_examples.py` in another
(or BASE_URL=http://127.0.0.1:8123 to aim at another port, exactly as the README says). The
examples run unchanged in one bash session, in order, with `set -euo pipefail`; each
`curl --fail-with-body` fails the run on an HTTP error. Exits non-zero on the first failing example.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def examples(readme: str) -> list[str]:
    section = readme.split("## Calling it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def main() -> int:
    blocks = examples(README.read_text())
    if not blocks:
        print("no examples found in README.md", file=sys.stderr)
        return 1
    script = "set -euo pipefail\n" + "\n".join(
        f"echo '--- example {number}' >&2\n{block}" for number, block in enumerate(blocks, 1)
    )
    env = {**os.environ, "BASE_URL": os.environ.get("BASE_URL", DOCUMENTED_URL)}
    result = subprocess.run(["bash", "-c", script], check=False, env=env)
    print(f"{len(blocks)} examples, exit status {result.returncode}", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
