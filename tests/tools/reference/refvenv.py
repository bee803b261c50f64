"""Re-runs a reference-fixture script inside its own venv (Debian's python3 with --system-site-packages, so
Debian's torch 1.13 is used, plus `pip install --no-deps -r <requirements>` for the pinned test-time packages).

    import refvenv
    refvenv.ensure("bpe", Path(__file__).with_name("bpe_requirements.txt"))   # returns inside the venv

The venv is $XDG_CACHE_HOME/uhdlens-reference/<name>/venv (default ~/.cache/...); it is (re)installed whenever a
pinned version is missing or different.
"""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path


def pins(requirements: Path) -> dict:
    out = {}
    for raw in requirements.read_text().splitlines():
        spec = raw.split("#", 1)[0].strip()
        if spec:
            name, version = spec.split("==")
            out[name.strip()] = version.strip()
    return out


def _satisfied(requirements: Path) -> bool:
    for name, version in pins(requirements).items():
        try:
            if importlib.metadata.version(name) != version:
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def ensure(name: str, requirements: Path) -> None:
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = home / "uhdlens-reference" / name / "venv"
    python = venv / "bin" / "python"
    inside = Path(sys.prefix).resolve() == venv.resolve()
    if inside and _satisfied(requirements):
        return
    if inside:  # in the venv but a pin is off: install, then start again so imports see it
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-r", str(requirements)], check=True)
    elif not python.exists():
        print(f"creating venv {venv}", file=sys.stderr)
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    script = Path(sys.argv[0]).resolve()
    os.execv(str(python), [str(python), str(script)] + sys.argv[1:])
