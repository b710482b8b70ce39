"""The house rules that keep the core free of Discord and the cogs thin and independent."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "rapport"
COGS = ROOT / "cogs"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (top-level, in functions, conditional)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "sandbox" not in p.relative_to(CORE).parts)


def cog_modules() -> list[Path]:
    return sorted(p for p in COGS.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_discord_or_cogs(path: Path) -> None:
    """The core (rapport/, sandbox aside) imports neither discord nor any cog."""
    bad = {m for m in imported_modules(path) if m.split(".")[0] in {"discord", "cogs", "bot"}}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_core_has_modules_to_check() -> None:
    """The architecture check really looks at the core (it would pass vacuously on an empty tree)."""
    assert len(core_modules()) >= 5


@pytest.mark.parametrize("path", cog_modules(), ids=lambda p: p.name)
def test_a_cog_never_imports_another_cog(path: Path) -> None:
    """Cogs share only the private helpers in cogs/_*.py, never each other."""
    others = {
        m
        for m in imported_modules(path)
        if m.startswith("cogs.") and not m.split(".")[1].startswith("_")
    }
    assert not others, f"{path.name} imports {sorted(others)}"


@pytest.mark.parametrize("path", cog_modules(), ids=lambda p: p.name)
def test_every_cog_has_a_documented_setup(path: Path) -> None:
    """Each extension has an async setup() with a docstring saying what it loads."""
    tree = ast.parse(path.read_text())
    setups = [n for n in tree.body if isinstance(n, ast.AsyncFunctionDef) and n.name == "setup"]
    assert setups, f"{path.name} has no async setup()"
    assert ast.get_docstring(setups[0]), f"{path.name}: setup() has no docstring"


def test_no_runtime_state_is_committed() -> None:
    """data/ holds runtime state only: the repository keeps just its .gitkeep."""
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert set(tracked) <= {"data/.gitkeep"}


def _reaches(path: Path) -> list[str]:
    """Where a cogs/ module reaches through the bot: `.services` outside setup(), any get_cog."""
    tree = ast.parse(path.read_text(), filename=str(path))
    allowed: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "setup":
            allowed.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "get_cog":
            found.append(f"line {node.lineno}: get_cog")
        elif (
            isinstance(node, ast.Attribute) and node.attr == "services" and id(node) not in allowed
        ):
            found.append(f"line {node.lineno}: .services outside setup()")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(p for p in COGS.glob("*.py") if p.name != "_bot.py"),
    ids=lambda p: p.name,
)
def test_cogs_get_their_services_in_setup_only(path: Path) -> None:
    """A cog is handed its services in setup(); it never reaches through the bot or another cog."""
    assert not _reaches(path), f"{path.name}: {_reaches(path)}"


def long_modules() -> list[Path]:
    """Every module outside the sandbox (and tools' environments) longer than 400 lines."""
    skip = {".venv", ".git", "sandbox", "data", "node_modules"}
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if not skip & set(p.relative_to(ROOT).parts)
        and len(p.read_text(encoding="utf-8").splitlines()) > 400
    )


def test_a_module_past_400_lines_says_why_it_is_one_room() -> None:
    """Outside the sandbox, a module over 400 lines says in its docstring why it stays one."""
    silent = []
    for path in long_modules():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if "over 400 lines because" not in " ".join(doc.split()).lower():
            silent.append(str(path.relative_to(ROOT)))
    assert not silent, (
        f"past 400 lines without saying why (docstring: 'Over 400 lines because'): {silent}"
    )


def test_every_private_module_is_protected_by_an_import_contract() -> None:
    """Each package's `_private` module is listed in its import-linter contract (no wildcards)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    protected = {
        module
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "protected"
        for module in contract["protected_modules"]
    }
    private = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in CORE.glob("*/_*.py")
        if p.name != "__init__.py"
    }
    assert private <= protected, f"not in a protected contract: {sorted(private - protected)}"


def test_the_import_contracts_hold() -> None:
    """The arrows in pyproject.toml's import contracts hold (CI runs lint-imports too)."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_core_type_checks() -> None:
    """mypy, strict on rapport/, finds nothing (CI runs mypy too; here it fails before landing)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
