"""Imports run one way — app → steps → providers, and app → jobqueue — and no modules import
each other in a circle, not even from inside a function."""

from __future__ import annotations

from tests.support.imports import cycles, import_graph, imports_of, module_files, reaching_up


def test_no_import_reaches_up_a_floor() -> None:
    assert reaching_up(import_graph(module_files())) == []


def test_there_are_no_import_circles() -> None:
    assert cycles(import_graph(module_files())) == []


def test_the_graph_sees_imports_inside_functions_and_from_packages() -> None:
    known = {"app", "app.a", "app.b", "app.pkg", "app.pkg.c", "providers", "providers.x"}
    source = (
        "from app import a\n"
        "from app.pkg import c\n"
        "import providers.x.y\n"
        "import json\n"
        "def f():\n"
        "    from app.b import thing\n"
    )
    assert imports_of("app.pkg.d", source, known) == {"app.a", "app.pkg.c", "providers.x", "app.b"}


def test_a_floor_reaching_up_and_a_circle_are_found() -> None:
    graph = {
        "providers.p": {"app.a"},
        "steps.s": {"providers.p", "jobqueue.q"},
        "app.a": {"app.b"},
        "app.b": {"app.c"},
        "app.c": {"app.a"},
        "jobqueue.q": set(),
    }
    assert reaching_up(graph) == ["providers.p -> app.a", "steps.s -> jobqueue.q"]
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]
