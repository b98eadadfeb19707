"""The shape docs/ARCHITECTURE.md promises: no import cycle anywhere, the layer contract kept, the tree as drawn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("edge_core", "app", "faceseal_collector")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), imports inside functions included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch) -> None:
    """The check above could pass by finding nothing at all: here it must find the one planted cycle."""
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from planted import b\n")
    (package / "b.py").write_text("from planted import a\n")
    (package / "c.py").write_text("from planted import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("planted", cache_dir=None)
    assert _cycles(graph) == [["planted.a", "planted.b"]]


def test_the_layer_contract_is_kept() -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_edge_core_top_level_holds_at_most_five_loose_modules() -> None:
    loose = sorted(p.name for p in (REPO / "edge_core").glob("*.py"))
    assert len(loose) <= 5, loose


def test_architecture_doc_names_every_package() -> None:
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    packages = [p for p in (REPO / "edge_core").iterdir() if (p / "__init__.py").exists()]
    missing = [p.name for p in packages if f"{p.name}/" not in doc]
    assert not missing, f"docs/ARCHITECTURE.md does not describe: {missing}"
    for package in packages:
        for module in package.glob("*.py"):
            if not module.name.startswith("__"):
                assert module.stem in doc, f"docs/ARCHITECTURE.md does not name {package.name}/{module.name}"


def test_a_package_with_lazy_names_names_its_modules_where_import_readers_see_them() -> None:
    """``edge_core.biometrics`` and ``edge_core.liveness`` import their names' modules only on first use
    (edge_core/support/lazy.py, issue 28), by a name built at run time, which PyInstaller's analysis cannot
    follow: ``capture.py``, which nothing else imports by name, was left out of the bundle until each such
    package named its modules in an import that is read, never run."""
    import ast
    import importlib

    for package in ("edge_core.biometrics", "edge_core.liveness"):
        module = importlib.import_module(package)
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        named = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == package
                 for alias in node.names}
        assert set(module._MODULES) <= named, f"{package} imports {set(module._MODULES) - named} only by name"
