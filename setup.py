"""The wheel carries the Avro schemas beside the code that reads them
(services/bus/schemas); in a checkout they stay at the repository root, where
the codec also looks. Everything else is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithSchemas(build_py):
    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            shutil.copytree(ROOT / "schemas", Path(self.build_lib) / "services" / "bus" / "schemas",
                            dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md", "__pycache__"))


setup(cmdclass={"build_py": BuildWithSchemas})
