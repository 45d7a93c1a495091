"""An installed copy of the project (the wheel `pip install .` builds) holds every module the processes import."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_top_level_module_every_package_and_the_migrations(tmp_path: Path) -> None:
    source = tmp_path / "source"  # built from a copy: a build leaves its folders beside pyproject.toml
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "data", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.name for path in ROOT.glob("*.py")}
    packages = {
        str(init.relative_to(ROOT))
        for folder in ("domain", "workflows", "activities", "api", "tools")
        for init in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted((modules | packages) - shipped)
    assert not missing, f"not in the wheel (pyproject.toml's packages / py-modules): {missing}"
    assert "activities/store/migrations/script.py.mako" in shipped
    screens = {
        str(path.relative_to(ROOT))
        for kind in ("templates", "static")
        for path in (ROOT / "api/pages" / kind).iterdir()
    }
    assert screens <= shipped, f"the screens' templates and static files not in the wheel: {sorted(screens - shipped)}"
