"""The architecture, read from the source: packages import only the layers below them, no module imports itself
back through others (imports inside functions counted), and lazy imports stand only at the named seams."""

from __future__ import annotations

import ast
from pathlib import Path

import segchat

SOURCE = Path(segchat.__file__).parent

# Lowest first: a package may import its own modules and those of the layers below it, never above.
LAYERS = [
    ("text",),  # untrusted text made safe: depends on nothing of segchat's
    ("errors", "figures", "private_files", "__init__"),  # the base: exceptions, number formats, private files
    ("config",),
    ("model",),  # plain data
    ("net",),
    ("providers",),
    ("store",),
    ("engine",),
    ("ui",),
    ("app",),
    ("tui",),
    ("cli",),
    ("__main__",),
]
# The third-party trees heavy enough to load only when needed.
HEAVY = {"httpx", "httpcore", "rich", "prompt_toolkit", "argcomplete", "markdown_it", "pygments", "keyring"}
# The seams where an import may wait inside a function, and why.
SEAMS = {
    "segchat.cli": "--version is answered before anything else loads",
    "segchat.cli.main": "each run loads only its own path: --list no engine, a one-shot no prompt_toolkit",
    "segchat.cli.shell_completion": "argcomplete, only when the shell asks for completions",
    "segchat.config.key_sources": "keyring (the optional extra), only when no other source gives the key",
    "segchat.config.validate": "pygments' style names, only for a code_theme other than the default",
    "segchat.net.http": "httpx, once the first request is made (the prompt is up before it)",
    "segchat.net.deadline": "httpcore, under the first request",
    "segchat.ui.render": "rich, on the first reply or table",
    "segchat.ui.markdown": "rich's Markdown and markdown-it, on the first reply",
    "segchat.ui.markdown_stream": "rich, on the first streamed reply",
    "segchat.ui.table": "rich's cell widths, with the first table laid out for a terminal (a piped one needs none)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    first = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if first in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function, line) for every import that runs (those for type checkers left out)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for rest in child.orelse:
                    visit(rest, nested)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, nested, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + [base]).strip(".")
                for alias in child.names:  # `from segchat.x import y`: y may be a module of its own
                    candidate = f"{base}.{alias.name}"
                    found.append((candidate if _is_module(candidate) else base, nested, child.lineno))
            else:
                visit(child, nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _is_module(name: str) -> bool:
    if not name.startswith("segchat."):
        return False
    path = SOURCE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph() -> dict[str, list[tuple[str, bool, int]]]:
    return {module_name(path): imports(path) for path in sorted(SOURCE.rglob("*.py"))}


def test_every_package_imports_only_the_layers_below_it():
    wrong = []
    for module, found in graph().items():
        for target, _, line in found:
            if target.startswith("segchat.") and layer_of(target) > layer_of(module):
                wrong.append(f"{module}:{line} imports {target}, a layer above it")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_itself_back():
    edges = {module: {t for t, _, _ in found if t.startswith("segchat") and t != module}
             for module, found in graph().items()}
    cycles = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in edges.get(node, ()):
            if nxt == start:
                cycles.append(" -> ".join([*path, start]))
            elif nxt not in path and nxt > start:  # each cycle found once, from its smallest module
                walk(start, nxt, [*path, nxt])

    for module in edges:
        walk(module, module, [module])
    assert not cycles, "\n".join(cycles)


def test_lazy_imports_only_at_the_named_seams():
    lazy = [f"{module}:{line} imports {target} inside a function"
            for module, found in graph().items() for target, nested, line in found
            if nested and module not in SEAMS]
    assert not lazy, "\n".join(lazy)


def test_heavy_trees_wait_for_the_seams():
    """A heavy tree imported at a module's top is loaded by every run that reaches that module."""
    eager = [f"{module}:{line} imports {target} at the top"
             for module, found in graph().items() for target, nested, line in found
             if target.split(".")[0] in HEAVY and not nested
             and not module.startswith(("segchat.tui", "segchat.ui.markdown", "segchat.ui.progress"))]
    assert not eager, "\n".join(eager)


def test_the_layer_test_sees_what_it_checks():
    """The walk finds imports inside functions and reads relative imports (a test that saw nothing would pass)."""
    found = graph()
    assert len(found) > 40 and all(layer_of(m) >= 0 for m in found)
    assert any(nested for entries in found.values() for _, nested, _ in entries)
    assert ("segchat.errors", False) in {(t, n) for t, n, _ in found["segchat.cli.main"]}
