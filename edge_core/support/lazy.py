"""A package's public names, each imported from its module on first use (PEP 562), not when the package is.

Why: ``edge_core.biometrics`` and ``edge_core.liveness`` name, in one place,
what their modules offer, and some of those modules run models (onnxruntime and
OpenCV: a tenth of a second of CPU to import on a warm machine, more on a cold
or busy one). A command that only needs a constant or a result type from them
(``faceseal status``, ``list``, ``audit``...) must not pay for the models it
never runs (issue 28). ``from package import name`` and ``package.name`` work
as before; the module that holds ``name`` is imported then, once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, modules: Mapping[str, tuple[str, ...]]
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of ``package``, whose public names live in its ``modules``
    (module, relative to the package -> the names it offers)."""
    names = {name: module for module, offered in modules.items() for name in offered}

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # found at once next time, without this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__, sorted(names)
