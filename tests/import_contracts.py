"""Two import-linter contract types for what its built-in ones cannot see here.

* Import-linter (grimp) builds its graph from packages only, and this project's top level is
  partly single modules (app.py, cli.py, web.py, transactions.py, tenancy.py, extensions.py,
  config.py). ``module_layers`` applies the same layer order to every import that has a top-level
  module on either side: the packages' imports come from the graph (the modules appear in it as
  external nodes), the modules' own imports are read from their source with ``ast``.
* The built-in contracts see an external package as one node (``flask``), so they cannot tell
  ``from flask import current_app`` from ``from flask import request``. ``no_request_objects``
  reads every import of the source files themselves (multi-line ones, ``flask.globals``, and
  imports inside functions included).

Both are registered in pyproject.toml (``contract_types``) and run by ``lint-imports``.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output

# What a layer below the HTTP boundary may not reach: the request and everything bound to it.
REQUEST_OBJECTS = {"flask": {"request", "session", "g", "has_request_context"},
                   "flask_login": {"current_user", "login_user", "logout_user"}}


def _module_file(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is not None:
        return None  # a package (the graph covers it) or not found
    return Path(spec.origin)


def _imports_in_source(path: Path) -> list[tuple[int, str, set[str]]]:
    """(line, imported module, names) of every absolute import in a file, function-level ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, {alias.name for alias in node.names}))
    return found


def _source_files(name: str) -> list[Path]:
    """The .py files of a top-level module or of a package (all its subpackages)."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return []
    if spec.submodule_search_locations is None:
        return [Path(spec.origin)]
    return sorted(p for location in spec.submodule_search_locations for p in Path(location).rglob("*.py"))


def _forbidden(module: str, names: set[str]) -> bool:
    """``import flask`` (whole, so ``flask.request`` is reachable) or any request object from
    ``flask``, ``flask.globals``, ``flask_login``, ``flask_login.utils`` ..."""
    root = module.split(".")[0]
    if root not in REQUEST_OBJECTS:
        return False
    return not names or bool(names & REQUEST_OBJECTS[root])


class ModuleLayers(Contract):
    """``layers``: top to bottom, siblings separated by ``|`` (independent of each other)."""

    layers = fields.ListField(subfield=fields.StringField())

    def _rank(self) -> dict[str, tuple[int, int]]:
        rank = {}
        for level, layer in enumerate(self.layers):
            for position, name in enumerate(part.strip() for part in layer.split("|")):
                rank[name] = (level, position)
        return rank

    def check(self, graph, verbose: bool) -> ContractCheck:
        rank = self._rank()
        modules = {name for name in rank if _module_file(name) is not None}
        edges: list[tuple[str, int, str]] = []
        for name in sorted(modules):
            edges += [(name, line, imported) for line, imported, _ in _imports_in_source(_module_file(name))]
        for package in sorted(set(rank) - modules):
            if package not in graph.modules:
                continue
            for importer in sorted(graph.find_descendants(package) | {package}):
                for imported in graph.find_modules_directly_imported_by(importer):
                    if imported.split(".")[0] in modules:
                        for detail in graph.get_import_details(importer=importer, imported=imported):
                            edges.append((importer, detail["line_number"], imported))
        broken = []
        for importer, line, imported in edges:
            source, target = importer.split(".")[0], imported.split(".")[0]
            if source == target or source not in rank or target not in rank:
                continue
            (source_level, source_pos), (target_level, target_pos) = rank[source], rank[target]
            if target_level < source_level or (target_level == source_level and target_pos != source_pos):
                broken.append(f"{importer}:{line} imports {imported} ({target} is not below {source})")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(line)
            output.new_line()


class NoRequestObjects(Contract):
    """``source_modules`` (packages or top-level modules) never import Flask's request objects."""

    source_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        broken = []
        for source in self.source_modules:
            for path in _source_files(source):
                broken += [f"{path}:{line} imports {module} {sorted(names) or ''}"
                           for line, module, names in _imports_in_source(path) if _forbidden(module, names)]
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(line)
            output.new_line()
