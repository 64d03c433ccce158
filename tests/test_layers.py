"""The layers import downwards only: settings < arguments < safety < access < etl < demo, metrics
< dashboard, report, pages < cli. Each layer's every module is imported in a fresh interpreter,
which must then hold no module of a layer above it (nor of its sibling)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIERS = [{"settings"}, {"arguments"}, {"safety"}, {"access"}, {"etl"}, {"demo", "metrics"},
         {"dashboard", "report", "pages", "app"}, {"cli"}]
# Imports every module of the named top-level modules and packages (not a package's __main__),
# then prints the top-level names of everything imported.
PROBE = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if info.name != "__main__":
            importlib.import_module(f"{name}.{info.name}")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def imported_with(*names: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *names], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return set(json.loads(result.stdout))


def above(name: str) -> set[str]:
    """The top-level names a module of `name`'s layer must not import."""
    tier = next(i for i, names in enumerate(TIERS) if name in names)
    return set().union(*TIERS[tier + 1:]) | (TIERS[tier] - {name})


@pytest.mark.parametrize("name", ["settings", "arguments", "safety", "access", "etl", "demo", "metrics"])
def test_a_layer_imports_nothing_above_it(name):
    assert imported_with(name) & above(name) == set()


def test_an_upward_import_is_seen():
    # What the test above would find had a loader module imported the metrics.
    assert imported_with("etl", "metrics.cli") & above("etl") == {"metrics"}
    assert above("etl") == {"demo", "metrics", "dashboard", "report", "pages", "app", "cli"}
    assert above("demo") == {"metrics", "dashboard", "report", "pages", "app", "cli"}
