"""The package's layers point down only, and no module imports its way back to itself.

Every ``import`` statement of every module under ``python/jitrl`` is read
(function bodies included: a lazy import is still a dependency), resolved to
the ``jitrl`` module it names, and checked against the layer order below: a
module may import its own layer and the layers under it, never one above.
The module graph must have no cycle.
"""
import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")

#: lowest first
LAYERS = ("common", "envs", "networks", "ppo", "config", "training", "workflow", "cli")


def modules():
    """``{module name: path}`` of every module of the package."""
    out = {}
    for d, _, files in os.walk(os.path.join(ROOT, "jitrl")):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), ROOT)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = os.path.join(d, f)
    return out


def imports(name, path, known):
    """The jitrl modules ``name`` imports (resolved to modules, not names in them)."""
    tree = ast.parse(open(path).read(), path)
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # ``from pkg import sub`` names a module when ``pkg.sub`` is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            if t == "jitrl" or t.startswith("jitrl."):
                while t not in known:
                    t = t.rsplit(".", 1)[0]
                found.add(t)
    found.discard(name)
    return found


def layer(name):
    parts = name.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # the package root re-exports the public API: above everything
    assert parts[1] in LAYERS, f"{name}: not in any layer of {LAYERS}; add its package to LAYERS"
    return LAYERS.index(parts[1])


def upward_imports(graph):
    """``["a (layer) imports b (layer)", ...]`` for every import of a higher layer."""
    def name(n):
        return LAYERS[layer(n)] if layer(n) < len(LAYERS) else "root"

    return sorted(f"{a} ({name(a)}) imports {b} ({name(b)})"
                  for a, deps in graph.items() for b in deps if layer(b) > layer(a))


def find_cycles(graph):
    """``["a -> b -> a", ...]``: the cycles a depth-first walk meets."""
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                cycles.append(" -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return cycles


@pytest.fixture(scope="module")
def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_import_points_down(graph):
    bad = upward_imports(graph)
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles(graph):
    bad = find_cycles(graph)
    assert not bad, "import cycles:\n" + "\n".join(bad)


def test_the_checks_find_planted_faults(tmp_path):
    """The checker itself: a lazy import inside a function and ``from pkg import module``
    are read; a planted upward import and a planted cycle are reported."""
    known = dict.fromkeys(["jitrl.envs.x", "jitrl.ppo", "jitrl.ppo.losses", "jitrl.training.y", "jitrl.training"])
    src = tmp_path / "x.py"
    src.write_text("from jitrl.ppo import losses\n\ndef f():\n    from jitrl.training import y\n")
    assert imports("jitrl.envs.x", str(src), known) == {"jitrl.ppo.losses", "jitrl.training.y"}
    g = {"jitrl.envs.x": {"jitrl.training.y"}, "jitrl.training.y": {"jitrl.envs.x"}}
    assert upward_imports(g) == ["jitrl.envs.x (envs) imports jitrl.training.y (training)"]
    assert find_cycles(g) == ["jitrl.envs.x -> jitrl.training.y -> jitrl.envs.x"]
    assert find_cycles({"jitrl.envs.a": {"jitrl.envs.b"}, "jitrl.envs.b": set()}) == []
