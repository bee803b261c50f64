"""Shared bootstrap of the reference fixture scripts (minicpmv2_, minicpmv26_ and bpe_fixture.py): each runs in
its own venv built with --system-site-packages on Debian's python3-torch, with `pip install --no-deps` of its
pinned requirements file, and checks the reference source it runs against the git blob ids of one commit."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path


def cache_dir(name: str) -> Path:
    """$XDG_CACHE_HOME/uhdlens-reference/<name> (default ~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uhdlens-reference" / name


def pinned(requirements: Path) -> dict:
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def ensure_venv(name: str, requirements: Path, script: str, system_site_packages: bool = True) -> None:
    """Re-executes `script` inside the venv of `name`, creating or repairing it first; returns when already in it.
    system_site_packages=False: a standalone venv (torch 2.x from the requirements, see qwen_requirements.txt)."""
    venv_dir = cache_dir(name) / "venv"
    py = venv_dir / "bin" / "python"
    if Path(sys.prefix).resolve() == venv_dir.resolve():
        return
    if not py.exists():
        if system_site_packages:
            print(f"creating venv {venv_dir} (system site packages: Debian's torch 1.13)", file=sys.stderr)
        else:
            print(f"creating standalone venv {venv_dir} (torch from {requirements.name})", file=sys.stderr)
        subprocess.run(["/usr/bin/python3", "-m", "venv"] + (["--system-site-packages"] if system_site_packages
                                                             else []) + [str(venv_dir)], check=True)
    check = ("import importlib.metadata as m, json, sys\n"
             "def version(name):\n"
             "    try:\n"
             "        return m.version(name)\n"
             "    except m.PackageNotFoundError:\n"
             "        return None\n"
             "pins = json.loads(sys.argv[1])\n"
             "sys.exit(0 if all(version(n) == v for n, v in pins.items()) else 1)\n")
    ok = subprocess.run([str(py), "-c", check, json.dumps(pinned(requirements))], capture_output=True).returncode == 0
    if not ok:
        print(f"installing {requirements.name} into {venv_dir} (pip --no-deps)", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(requirements)], check=True)
    os.execv(str(py), [str(py), str(Path(script).resolve())] + sys.argv[1:])


def git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_blobs(ref: Path, blobs: dict, commit: str, help_text: str) -> None:
    """Exits with a message naming every file of `ref` that is missing or not the file of `commit`."""
    problems = []
    for name, blob in blobs.items():
        f = ref / name
        if not f.is_file():
            problems.append(f"missing {f}")
        elif git_blob_id(f) != blob:
            problems.append(f"{f} is not the file of commit {commit[:7]} (git blob {git_blob_id(f)}, expected {blob})")
    if problems:
        sys.exit("error: " + "\n       ".join(problems) + "\n\n" + help_text)


def import_package(package: str, ref: Path, module: str):
    """The official files use package-relative imports: load `ref` as the package `package`, return its `module`."""
    import importlib
    import types
    pkg = types.ModuleType(package)
    pkg.__path__ = [str(ref)]
    sys.modules[package] = pkg
    return importlib.import_module(f"{package}.{module}")


def ref_and_out_args(default_ref: Path, default_out: Path):
    """The --ref (reference source folder) / --out (fixture folder) arguments of the end-to-end fixture scripts."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", type=Path, default=default_ref)
    ap.add_argument("--out", type=Path, default=default_out)
    return ap.parse_args()
