"""Ships the shipped areas and scenarios inside the wheel (everything else is in pyproject.toml).

``calibration/`` and ``scenarios/`` live at the root of the checkout, where users
read and edit them; a wheel (``pip install .``) copies them into the package as
``sim/_data/``, which :func:`sim.loading.project_root` falls back to when the
package does not run from a checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("calibration", "scenarios")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        for folder in DATA_FOLDERS:
            target = Path(self.build_lib) / "sim" / "_data" / folder
            if (root / folder).is_dir():
                shutil.copytree(root / folder, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
