"""Display is attached to the models here, by the presentation layer, so the models never import it.

`worldflux_nb/__init__.py` calls `register()` once; it only binds small functions, and the heavy
modules (HTML, charts, widgets) load on first display.
"""

from __future__ import annotations

from typing import Any, Collection

from worldflux_nb.models.common import Artifact
from worldflux_nb.models.packet import EvalPacket


def _artifact_mimebundle(self: Artifact, include: Collection[str] | None = None,
                         exclude: Collection[str] | None = None) -> dict[str, Any]:
    from worldflux_nb.render.display import mimebundle

    return mimebundle(self, include=include, exclude=exclude)


def _packet_explore(self: EvalPacket, evidence: Any = None, plan: Any = None) -> Any:
    """The explorer over this packet's cells (see `worldflux_nb.render.explorer.Explorer`)."""
    from worldflux_nb.render.explorer import explore

    return explore(self, evidence=evidence, plan=plan)


def register() -> None:
    """Give every artifact its Jupyter display and the packet its `explore()`; safe to call twice."""
    # type.__setattr__: pydantic's model metaclass would otherwise treat a new attribute as a field.
    type.__setattr__(Artifact, "_repr_mimebundle_", _artifact_mimebundle)
    type.__setattr__(EvalPacket, "explore", _packet_explore)
