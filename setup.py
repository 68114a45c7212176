"""Build hook: copy scenarios/, corpus/ and containers/ into the wheel as harness/_data/.

Why a hook and not package-data: those folders live beside the package, not inside it, and
setuptools' package-data only reaches files under a package directory. Everything else about the
build is declared in pyproject.toml. Editable installs skip the copy: they read the checkout
(harness/resources.py finds both layouts).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("scenarios", "corpus", "containers")  # the same list as harness/resources.py DATA_DIRS
# Everything is shipped except caches: corpus/ is about 2 MB, the transcripts (1.3 MB of it) are
# what the connection fuzz target replays its inputs against.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "harness" / "_data"
        for name in DATA_DIRS:
            source = HERE / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build the wheel from a full checkout or sdist")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=IGNORED)


setup(cmdclass={"build_py": BuildPyWithData})
