"""No process is forked after threads exist, and a hang fails instead of waiting for ever."""

from __future__ import annotations

import ast
import multiprocessing
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAFE_CONTEXTS = {"spawn", "forkserver"}


def _python_files() -> list[Path]:
    return [p for folder in ("fer_desktop", "trainer", "benchmarks", "scripts", "tests") for p in (ROOT / folder).rglob("*.py")]


def test_every_multiprocessing_context_is_spawn_or_forkserver() -> None:
    unsafe = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            owner = getattr(node.func, "value", None)
            owner_name = getattr(owner, "id", "")
            if name in ("get_context", "set_start_method"):
                method = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                if method not in SAFE_CONTEXTS:
                    unsafe.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({method!r})")
            elif owner_name in ("multiprocessing", "os") and name in ("Pool", "Process", "fork", "forkpty"):
                unsafe.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner_name}.{name} (default start method)")
    assert not unsafe, unsafe


def test_the_fork_guard_fails_a_test_that_forks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_forking="""
        import os

        def test_forks():
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*this test forked the test process*"])


def _square(x: int) -> int:
    return x * x


def test_a_spawned_pool_passes_the_fork_guard() -> None:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(_square, [2, 3]) == [4, 9]


def test_a_hang_fails_with_stacks(pytester: pytest.Pytester) -> None:
    """The project's pytest configuration turns a test that never returns into a failure with stacks."""
    config = re.sub(r"^timeout = \d+$", "timeout = 2", (ROOT / "pyproject.toml").read_text(), flags=re.MULTILINE)
    pytester.makepyprojecttoml(re.sub(r"^faulthandler_timeout = \d+$", "", config, flags=re.MULTILINE))
    pytester.makepyfile(test_hang="""
        import threading

        def test_waits_for_ever():
            threading.Event().wait()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*Timeout*", "*test_waits_for_ever*"])
