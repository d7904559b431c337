"""Dependencies point one way (STYLE.md): a lower layer never imports a higher one.

Reads every module's imports with ``ast``; ``TYPE_CHECKING`` imports count too, except that
they may point within the same layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pacsbridge"

# Layer of each top-level module or package; a module may import its own layer and lower ones.
LAYERS = {
    "errors": 0, "config": 0, "formats": 0, "profiles": 0, "__init__": 0,
    "store": 1,
    "rules": 2, "auth": 2, "outbox": 2,
    "hl7v2": 3, "fhir": 3, "dicom": 3, "dicomweb": 3, "console": 3, "ops": 3,
    "viewer": 3,
    "app": 4, "cli": 4, "cli_hl7": 4, "cli_outbox": 4, "cli_auth": 4, "cli_table": 4, "__main__": 4,
    "demo": 4, "cli_demo": 4, "cli_database": 4, "cli_ports": 4,
}  # fmt: skip
FACES = {"hl7v2", "fhir", "dicom", "dicomweb", "console", "viewer"}


def _top(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.startswith("pacsbridge.")]


def test_every_module_belongs_to_a_layer():
    unknown = {_top(p) for p in PACKAGE.rglob("*.py")} - set(LAYERS)
    assert not unknown, f"add these to LAYERS in tests/test_layers.py: {sorted(unknown)}"


def test_imports_point_down_and_faces_do_not_import_each_other():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        mine = _top(path)
        for module in _imports(path):
            theirs = module.split(".")[1]
            if theirs not in LAYERS:
                continue
            if LAYERS[theirs] > LAYERS[mine] or (
                mine in FACES and theirs in FACES and mine != theirs
            ):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_module_grows_past_what_one_person_holds_in_mind():
    big = [
        f"{p.relative_to(PACKAGE)}: {n} lines"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450
    ]
    assert not big, big
