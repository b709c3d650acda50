"""The package's boundaries: what each part may import, checked on the source and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "prompt_release"

# What each part may import from third parties and from the other parts.
ALLOWED = {
    "core": {
        "third": {"pydantic", "yaml", "jinja2", "pystache", "jsonschema", "tiktoken"},
        "parts": {"core"},
    },
    "sdk": {"third": {"jinja2", "pystache", "jsonschema"}, "parts": {"core", "sdk"}},
    # aiohttp and jinja2: the dashboard only, loaded by `kubectl prompt dashboard` alone
    "plugin": {"third": {"yaml", "aiohttp", "jinja2"}, "parts": {"core", "kube", "plugin", "sdk"}},
    "operator": {
        # urllib3: the webhook sinks' POST (runtime/webhook.py); yaml: the sinks file
        "third": {"kopf", "prometheus_client", "urllib3", "yaml"},
        "parts": {"core", "kube", "operator"},
    },
}
# the schema and what it needs
SDK_MAY_USE = {"payload", "hashing", "canonical", "templates", "variables"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "prompt_release":
                names |= {f"prompt_release.{alias.name}" for alias in node.names}
    return names


def _modules(part: str) -> list[Path]:
    return sorted((PACKAGE / part).rglob("*.py"))


def _third_party(name: str) -> bool:
    root = name.split(".")[0]
    return root != "prompt_release" and root not in sys.stdlib_module_names


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_it_may(part: str) -> None:
    rules = ALLOWED[part]
    wrong: list[str] = []
    for path in _modules(part):
        for name in _imports(path):
            if _third_party(name) and name.split(".")[0] not in rules["third"]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
            if name.startswith("prompt_release."):
                target = name.split(".")[1]
                if target in {"core", "kube", "operator", "plugin", "sdk"} and (
                    target not in rules["parts"]
                ):
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_the_sdk_reads_the_payload_through_the_core_schema_only() -> None:
    used = {
        name.split(".")[2]
        for path in _modules("sdk")
        for name in _imports(path)
        if name.startswith("prompt_release.core.")
    }
    assert "payload" in used
    assert used <= SDK_MAY_USE
    for path in _modules("core"):
        if path.relative_to(PACKAGE / "core").parts[0].removesuffix(".py") not in SDK_MAY_USE:
            continue
        for name in _imports(path):
            assert not _third_party(name) or name.startswith(("jinja2", "pystache")), (
                path.name,
                name,
            )


def test_the_core_imports_neither_kopf_nor_kubernetes_at_run_time() -> None:
    modules = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for path in _modules("core")
        if path.stem != "__main__"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = {'kopf', 'kubernetes', 'prometheus_client', 'aiohttp'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_sdk_loads_only_the_standard_library_at_run_time() -> None:
    code = (
        "import sys, prompt_release.sdk, prompt_release.sdk.consumer\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "third = {r for r in roots - set(sys.stdlib_module_names) - {'prompt_release'}\n"
        "         if not r.startswith('_')}\n"
        "assert not third, third\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_a_private_module_of_a_library() -> None:
    """Libraries are used through their public API: no `kopf._core`, no `x._private`."""
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _all_modules()
        for name in _imports(path)
        if _third_party(name) and any(part.startswith("_") for part in name.split(".")[1:])
    ]
    assert wrong == []


def _imported_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _patches(path: Path) -> list[str]:
    """Assignments to an attribute of something imported (a module, a class), setattr on one,
    and edits of sys.modules: the shapes a monkeypatch takes."""
    tree = ast.parse(path.read_text(), str(path))
    imported = _imported_names(tree)
    found: list[str] = []

    def root(node: ast.expr) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and root(target) in imported:
                found.append(f"{path.relative_to(PACKAGE)}:{target.lineno} {ast.unparse(target)}")
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if called == "setattr" and node.args and root(node.args[0]) in imported:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
            if called.startswith("sys.modules."):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_module_patches_a_library_or_another_module() -> None:
    assert [patch for path in _all_modules() for patch in _patches(path)] == []


def test_kopf_is_pinned_to_the_range_the_tests_ran() -> None:
    text = (PACKAGE.parents[1] / "pyproject.toml").read_text()
    kopf = next(line for line in text.splitlines() if line.strip().startswith('"kopf'))
    assert ">=" in kopf and "<" in kopf.replace("<=", ""), kopf


def test_the_plugin_loads_the_web_server_only_for_the_dashboard() -> None:
    code = (
        "import sys\n"
        "from prompt_release.plugin.parser import build_parser\n"
        "build_parser()\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
