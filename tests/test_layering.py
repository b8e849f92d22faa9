"""The package's layering: no import cycle among its modules, function-local imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import lstm_shapes

PACKAGE = Path(lstm_shapes.__file__).parent
# The main command and its subcommands still import each other; the one cycle that is known and allowed.
ALLOWED: list[set[str]] = []  # no cycle is allowed


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports anywhere (not under `if TYPE_CHECKING:`)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for sub in node.body for n in ast.walk(sub)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]  # `from . import x` may import module x
        else:
            continue
        for target in targets:
            while target and target not in modules:  # lstm_shapes.render.tables.Column -> lstm_shapes.render.tables
                target = target.rpartition(".")[0]
            if target and target != me:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = list(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imported(p, modules) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module: each is at least one cycle."""
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {m: reach(m) for m in graph}
    groups: list[set[str]] = []
    for m in sorted(graph):
        group = {m} | {n for n in reachable[m] if m in reachable[n]}
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return groups


def test_the_cycle_finder_finds_a_three_module_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_no_import_cycles_in_the_package() -> None:
    found = [sorted(group) for group in cycles(import_graph()) if group not in ALLOWED]
    assert found == []


def test_the_report_and_its_subjects_never_import_the_renderers() -> None:
    graph = import_graph()
    for module in ("lstm_shapes.report", "lstm_shapes.compare", "lstm_shapes.fit"):
        assert not {m for m in graph[module] if m.startswith("lstm_shapes.render")}, module
