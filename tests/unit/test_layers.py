"""The layers hold: import-linter checks the contracts in pyproject.toml (blueprints -> services ->
models, jobs -> services, no blueprint imports another, nothing below the blueprints reads
Flask's request objects). A future break fails here, in CI."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is not installed (requirements-dev.txt)"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "6 kept, 0 broken" in result.stdout


def test_the_contracts_of_our_own_catch_what_they_are_for(tmp_path, monkeypatch):
    """A request object imported below web.py (multi-line, via flask.globals, inside a function)
    and a low module importing a high one are reported."""
    from types import SimpleNamespace

    from tests.import_contracts import ModuleLayers, NoRequestObjects

    package = tmp_path / "probe_services"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text("def f():\n    from flask import (\n        g,\n    )\n"
                                      "    from flask.globals import request\n    from flask import current_app\n")
    (tmp_path / "probe_high.py").write_text("X = 1\n")
    (tmp_path / "probe_low.py").write_text("from probe_high import X\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    request_check = NoRequestObjects("probe", {}, {"source_modules": ["probe_services"]}).check(None, False)
    assert not request_check.kept
    assert [line.split(" imports ")[1] for line in request_check.metadata["broken"]] == [
        "flask ['g']", "flask.globals ['request']"]
    layers = ModuleLayers("probe", {}, {"layers": ["probe_high", "probe_low"]})
    broken = layers.check(SimpleNamespace(modules=set()), False)
    assert not broken.kept and broken.metadata["broken"] == ["probe_low:1 imports probe_high (probe_high is not below probe_low)"]
    assert ModuleLayers("probe", {}, {"layers": ["probe_low", "probe_high"]}).check(SimpleNamespace(modules=set()), False).kept
