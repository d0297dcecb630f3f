"""Print the requirements of pyproject.toml's ``dev`` extra for the named distributions, one a line.

``scripts/compat-test.sh`` installs only the test libraries it needs, at the version ranges the project
declares, so the two never drift::

    python scripts/dev_requirements.py pytest hypothesis   # -> pytest>=8, hypothesis>=6.100
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def dev_requirements(names: list[str]) -> list[str]:
    """Return the ``dev`` requirements whose distribution is one of ``names``; exit 1 naming any missing.

    :param names: distribution names (compared case-insensitively, ``_`` and ``-`` alike).
    """
    dev = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["dev"]

    def key(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    by_name = {key(re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]): req for req in dev}
    missing = [name for name in names if key(name) not in by_name]
    if missing:
        sys.exit(f"not in the dev extra of {PYPROJECT}: {', '.join(missing)}")
    return [by_name[key(name)] for name in names]


if __name__ == "__main__":
    print("\n".join(dev_requirements(sys.argv[1:])))
