"""The import direction of STYLE.md, held with ast: expo imports the others only inside create_app;
media never imports pavilions; no production module imports tests."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    top, nested = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in getattr(node, "names", [])]
            target = top if node.col_offset == 0 else nested
            target.update(n.split(".")[0] for n in names if n)
    return top, nested


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def test_media_never_imports_pavilions():
    for path in _modules("media"):
        top, nested = _imports(path)
        assert "pavilions" not in top | nested, path


def test_expo_imports_other_packages_only_inside_functions():
    for path in _modules("expo"):
        top, _nested = _imports(path)
        assert not top & {"pavilions", "media"}, path


def test_production_code_never_imports_tests():
    for package in ("expo", "media", "pavilions"):
        for path in _modules(package):
            top, nested = _imports(path)
            assert "tests" not in top | nested, path


def test_only_the_storage_module_imports_boto3():
    for package in ("media", "pavilions"):
        for path in _modules(package):
            top, nested = _imports(path)
            if path.name != "storage.py":
                assert not {"boto3", "botocore"} & (top | nested), path
