"""Read the packet and brief, and the comparison, back out of an executed notebook and write them as the
CLI would (`eval-portfolio packet`/`reviewer-brief`, `eval-portfolio compare --brief`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, TypeVar

from nbformat import NotebookNode

from worldflux_nb.models.digest import sha256_bytes
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json, artifact_json
from worldflux_nb.io.files import json_text
from worldflux_nb.models import PRIVACY, Artifact, Comparison, EvalPacket, ProtocolPlan, ReviewerBrief

A = TypeVar("A", bound=Artifact)

MANIFEST_FILE = "artifact_manifest.json"
MANIFEST_SCHEMA = "worldflux_nb.artifact_manifest.v1"
EXPORTED_FILES = ("packet.md", "packet.json", "reviewer_brief.md", "reviewer_brief.json")
COMPARISON_FILES = ("comparison.md", "comparison.json", "comparison_brief.md")


def artifact_outputs(nb: NotebookNode, media_type: str) -> list[tuple[int, Any]]:
    """(cell index, JSON payload) of every output carrying `media_type`, in notebook order."""
    found: list[tuple[int, Any]] = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            payload = output.get("data", {}).get(media_type)
            if payload is not None:
                found.append((index, payload))
    return found


def last_artifact(nb: NotebookNode, cls: type[A], source: str) -> A | None:
    """The last displayed artifact of a kind (what the notebook ended on), digest verified."""
    outputs = artifact_outputs(nb, cls.media_type())
    return displayed_artifact(outputs[-1], cls, source) if outputs else None


def displayed_artifact(output: tuple[int, Any], cls: type[A], source: str) -> A:
    """One displayed artifact read back from its JSON output, digest verified."""
    index, payload = output
    where = f"{source} (cell {index}, {cls.media_type()})"
    if isinstance(payload, str):  # a front end may store JSON output as text
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise InputError(where, None, f"is not valid JSON ({exc.msg})") from None
    return artifact_from_json(payload, where, cls)


def artifacts_from_notebook(nb: NotebookNode, source: str) -> tuple[EvalPacket, ReviewerBrief]:
    """The packet and its brief as the notebook displayed them; refuses anything missing or altered."""
    packet = last_artifact(nb, EvalPacket, source)
    if packet is None:
        raise InputError(source, EvalPacket.media_type(),
                         "no eval packet output in this notebook; was it executed, and does it display the packet?")
    return packet, brief_of(nb, packet, source)


def brief_of(nb: NotebookNode, packet: EvalPacket, source: str) -> ReviewerBrief:
    """The last displayed brief, which must be the displayed packet's."""
    brief = last_artifact(nb, ReviewerBrief, source)
    if brief is None:
        raise InputError(source, ReviewerBrief.media_type(),
                         "no reviewer brief output in this notebook; display the brief built from the packet")
    if brief.packet_digest != packet.packet_digest:
        raise InputError(source, "reviewer_brief.packet_digest",
                         f"{brief.packet_digest} is not the displayed packet's digest {packet.packet_digest}")
    return brief


def notebook_files(nb: NotebookNode, source: str) -> dict[str, str]:
    """Every exportable artifact the notebook displayed (packet and brief, comparison), rendered as the
    command line renders them; refuses a notebook that displayed none, any of them altered, or one built
    on a plan other than those the notebook displays."""
    packet = last_artifact(nb, EvalPacket, source)
    comparison = last_artifact(nb, Comparison, source)
    if packet is None and comparison is None:
        raise InputError(source, f"{EvalPacket.media_type()} or {Comparison.media_type()}",
                         "no eval packet output and no comparison output in this notebook; was it executed, "
                         "and does it display the packet (or the comparison)?")
    shown_plans = {displayed_artifact(output, ProtocolPlan, source).plan_digest
                   for output in artifact_outputs(nb, ProtocolPlan.media_type())}
    for artifact in (packet, comparison):
        if artifact is not None and shown_plans and artifact.plan_digest not in shown_plans:
            raise InputError(source, f"{artifact.KIND}.plan_digest",
                             f"{artifact.plan_digest} is not the digest of any plan this notebook displays "
                             f"({', '.join(sorted(shown_plans))}); was it built on another plan?")
    files: dict[str, str] = {}
    if packet is not None:
        files.update(packet_files(packet, brief_of(nb, packet, source)))
    if comparison is not None:
        files.update(comparison_files(comparison))
    return files


def artifact_manifest(files: Mapping[str, str | bytes]) -> str:
    """The manifest of written files: names, sizes and sha256 digests, LOCAL_PRIVATE."""
    entries = []
    for name in sorted(files):
        content = files[name]
        data = content.encode("utf-8") if isinstance(content, str) else content
        entries.append({"name": name, "bytes": len(data), "sha256": sha256_bytes(data)})
    return json_text({
        "schema_version": MANIFEST_SCHEMA, "privacy": PRIVACY, "public_share_ready": False,
        "note": "Local, private evidence files; not for public sharing. Digests let a reviewer "
                "check that the files they received are the ones listed here.",
        "files": entries,
    })


def packet_files(packet: EvalPacket, brief: ReviewerBrief) -> dict[str, str]:
    """packet.md/json and reviewer_brief.md/json rendered exactly as the command line renders them."""
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.packet_docs import brief_document, packet_document

    return {
        "packet.md": to_markdown(packet_document(packet)),
        "packet.json": artifact_json(packet),
        "reviewer_brief.md": to_markdown(brief_document(brief)),
        "reviewer_brief.json": artifact_json(brief),
    }


def comparison_files(comparison: Comparison, markdown: str = "comparison.md", data: str = "comparison.json",
                     brief: str | None = "comparison_brief.md") -> dict[str, str]:
    """The comparison's files by name, as `eval-portfolio compare --output --comparison-json --brief`
    writes them (the brief, when named, links the Markdown by its file name)."""
    from worldflux_nb.render.compare_docs import comparison_brief_document, comparison_document
    from worldflux_nb.render.markdown import to_markdown

    files = {markdown: to_markdown(comparison_document(comparison)), data: artifact_json(comparison)}
    if brief:
        files[brief] = to_markdown(comparison_brief_document(comparison, os.path.basename(markdown)))
    return files


def with_manifest(files: Mapping[str, str | bytes]) -> dict[str, str | bytes]:
    return {**files, MANIFEST_FILE: artifact_manifest(files)}


def export_notebook(path: str | os.PathLike[str], output_dir: str | os.PathLike[str]) -> dict[Path, str | bytes]:
    """The files `notebook export` writes, keyed by target path; nothing is written here."""
    from worldflux_nb.io.notebook_runner import read_notebook

    files = notebook_files(read_notebook(path), str(path))
    folder = Path(output_dir)
    return {folder / name: content for name, content in with_manifest(files).items()}
