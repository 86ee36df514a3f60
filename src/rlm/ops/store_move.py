"""store copy / store export: move a whole store's contents into another store.

Everything goes through the public :class:`~rlm.store.Store` API (no SQL
here), so the same code copies SQLite -> PostgreSQL, PostgreSQL -> SQLite and
merges one SQLite file into another. The destination changes in one
transaction: a failure (a clash found late, a dropped connection, Ctrl-C)
leaves it exactly as it was; the source is only read.

Chunk ids are the destination's own (its id sequence decides), so the copy
reports the old -> new map; dispatch runs are rewritten through it. Vectors are
only worth copying when the destination will search with the same model, so
chunk and passage vectors travel only where their fingerprint matches the
destination's model (every vector for ``export``, which is a snapshot), and
``reembed`` embeds what was left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from rlm.errors import DatabaseError, InvalidArgumentError, StorageError
from rlm.store import Buffer, NewBuffer, NewChunk, Store
from rlm.store.chunks import INSERT_BATCH
from rlm.store.location import is_postgres_url
from rlm.store.models import Chunk

__all__ = [
    "CopyPlan",
    "NameClashError",
    "StoreCopied",
    "StoreExported",
    "copy_stores",
    "open_store",
    "plan_copy",
    "store_copy",
    "store_export",
]

OnClash = Literal["refuse", "rename", "skip"]
Progress = Callable[[int, int], None]
"""(buffers done, buffers to copy)."""

SCOPES = ("variables", "globals")
"""The context row's named values that travel with a copy."""


class NameClashError(StorageError):
    """The destination already holds names the copy would write: never overwritten."""

    default_type = "NameClash"

    def __init__(self, destination: str, clashes: list[str]) -> None:
        shown = ", ".join(clashes[:10]) + (
            f" and {len(clashes) - 10} more" if len(clashes) > 10 else ""
        )
        super().__init__(
            f"{destination} already has {len(clashes)} of the names being copied: {shown}",
            suggestion="Pass --rename to copy them under new names (NAME~1), or --skip to"
            " keep the destination's and copy the rest",
        )
        self.clashes = clashes


@dataclass(frozen=True)
class BufferPlan:
    """One source buffer and what happens to it."""

    source: Buffer
    target_name: str | None
    """The name it gets in the destination (None: unnamed, or skipped)."""
    skipped: bool = False


@dataclass(frozen=True)
class CopyPlan:
    """What a copy will do, decided before anything is written (``--dry-run`` prints it)."""

    buffers: list[BufferPlan]
    chunk_count: int
    vectors_by_model: dict[str, int]
    """Source chunk vectors per model name (fingerprint shown when names repeat)."""
    values: dict[str, dict[str, tuple[str, dict[str, Any]]]]
    """Per scope: source name -> (destination name, tagged value) of values to write."""
    runs: list[str]
    """Run ids to copy (their buffers are copied)."""
    runs_left: int
    """Runs not copied: their buffer was skipped or no longer exists."""
    clashes: list[str]
    renames: dict[str, str]

    @property
    def copied_buffers(self) -> list[BufferPlan]:
        return [b for b in self.buffers if not b.skipped]

    def to_json(self) -> dict[str, Any]:
        return {
            "buffers": len(self.copied_buffers),
            "buffers_skipped": [_label(b.source) for b in self.buffers if b.skipped],
            "chunks": self.chunk_count,
            "vectors_by_model": dict(self.vectors_by_model),
            "values": sum(len(v) for v in self.values.values()),
            "runs": len(self.runs),
            "runs_left": self.runs_left,
            "renamed": dict(self.renames),
        }


@dataclass
class StoreCopied:
    """The outcome of ``rlm store copy``."""

    source: str
    destination: str
    plan: CopyPlan
    dry_run: bool = False
    created: bool = False
    """The destination did not exist and was created (SQLite only)."""
    chunks: int = 0
    id_map: dict[int, int] = field(default_factory=dict)
    """Source chunk id -> destination chunk id."""
    id_map_file: str | None = None
    vectors: int = 0
    passages: int = 0
    vectors_left: dict[str, int] = field(default_factory=dict)
    """Chunk vectors not copied, per model (another model than the destination's)."""
    target_model: str | None = None
    reembedded: int = 0
    values: int = 0
    runs: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "created": self.created,
            "plan": self.plan.to_json(),
            "buffers": 0 if self.dry_run else len(self.plan.copied_buffers),
            "chunks": self.chunks,
            "id_map_count": len(self.id_map),
            "vectors": self.vectors,
            "passages": self.passages,
            "vectors_left": dict(self.vectors_left),
            "target_model": self.target_model,
            "reembedded": self.reembedded,
            "values": self.values,
            "runs": self.runs,
        }
        if self.id_map_file is not None:
            data["id_map_file"] = self.id_map_file
        else:
            data["id_map"] = {str(k): v for k, v in self.id_map.items()}
        return data


@dataclass
class StoreExported:
    """The outcome of ``rlm store export``: a copy into a new SQLite file."""

    path: str
    copied: StoreCopied
    size: int
    replaced: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = self.copied.to_json()
        data.pop("id_map", None)  # a snapshot keeps no link to the source's ids
        data.update({"path": self.path, "size": self.size, "replaced": self.replaced})
        return data


def _label(buffer: Buffer) -> str:
    name = buffer.label
    return f"{buffer.collection}/{name}" if buffer.collection else name


def _free_name(dst: Store, name: str, collection: str | None, taken: set[str]) -> str:
    """``NAME~N`` with the smallest N free in the destination and in this copy."""
    n = 1
    while True:
        candidate = f"{name}~{n}"
        if candidate not in taken and dst.find_buffer_in(candidate, collection) is None:
            return candidate
        n += 1


def plan_copy(src: Store, dst: Store, *, on_clash: OnClash = "refuse") -> CopyPlan:
    """Decide names, clashes and what moves; writes nothing.

    A clash is a buffer name already used in the same collection of the
    destination, a variable or global already set there to another value, or
    a run id already recorded there. With ``refuse`` they are all listed in
    one :class:`NameClashError`.
    """
    clashes: list[str] = []
    renames: dict[str, str] = {}
    plans: list[BufferPlan] = []
    taken: dict[str | None, set[str]] = {}
    chunk_count = 0
    for buffer in src.list_buffers():
        name = buffer.name
        in_collection = taken.setdefault(buffer.collection, set())
        if name is not None and (
            name in in_collection or dst.find_buffer_in(name, buffer.collection) is not None
        ):
            clashes.append(f"buffer {_label(buffer)}")
            if on_clash == "skip":
                plans.append(BufferPlan(buffer, None, skipped=True))
                continue
            new_name = _free_name(dst, name, buffer.collection, in_collection)
            renames[_label(buffer)] = (
                f"{buffer.collection}/{new_name}" if buffer.collection else new_name
            )
            name = new_name
        if name is not None:
            in_collection.add(name)
        plans.append(BufferPlan(buffer, name))
        chunk_count += (
            buffer.chunk_count
            if buffer.chunk_count is not None
            else len(src.list_chunk_refs(buffer.id))
        )
    values = _plan_values(src, dst, on_clash, clashes, renames)
    copied_ids = {p.source.id for p in plans if not p.skipped}
    runs: list[str] = []
    runs_left = 0
    for run in src.list_runs():
        if run.buffer_id not in copied_ids or not run.buffer_exists:
            runs_left += 1
            continue
        if _run_exists(dst, run.run_id):
            clashes.append(f"run {run.run_id}")
            if on_clash == "skip":
                runs_left += 1
                continue
            from rlm.agents.dispatch import new_run_id

            renames[f"run {run.run_id}"] = new_run_id()
        runs.append(run.run_id)
    if clashes and on_clash == "refuse":
        raise NameClashError(_where(dst), clashes)
    by_model = {str(m or "(unknown)"): n for m, n in src.vector_models()}
    return CopyPlan(
        buffers=plans,
        chunk_count=chunk_count,
        vectors_by_model=by_model,
        values=values,
        runs=runs,
        runs_left=runs_left,
        clashes=clashes,
        renames=renames,
    )


def _plan_values(
    src: Store, dst: Store, on_clash: OnClash, clashes: list[str], renames: dict[str, str]
) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
    """Variables and globals to write: equal values need nothing, different ones clash."""
    src_ctx = src.load_context() or {}
    dst_ctx = dst.load_context() or {}
    out: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for scope in SCOPES:
        theirs = src_ctx.get(scope) or {}
        ours = dst_ctx.get(scope) or {}
        if not isinstance(theirs, dict) or not isinstance(ours, dict):
            continue
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, value in theirs.items():
            if not isinstance(value, dict):
                continue
            if name not in ours:
                wanted[name] = (name, value)
                continue
            if ours[name] == value:
                continue
            what = "variable" if scope == "variables" else "global"
            clashes.append(f"{what} {name}")
            if on_clash == "rename":
                n = 1
                while f"{name}~{n}" in ours or f"{name}~{n}" in theirs:
                    n += 1
                renames[f"{what} {name}"] = f"{name}~{n}"
                wanted[name] = (f"{name}~{n}", value)
        out[scope] = wanted
    return out


def _run_exists(store: Store, run_id: str) -> bool:
    from rlm.errors import RunNotFoundError

    try:
        store.get_run(run_id)
    except RunNotFoundError:
        return False
    return True


def _new_chunk(chunk: Chunk) -> NewChunk:
    """The destination row of a source chunk: same text, spans and metadata."""
    digest = chunk.content_hash
    if digest is None:
        from rlm.ingest.rows import chunk_hash

        digest = chunk_hash(chunk.content.encode("utf-8"))
    return NewChunk(
        index=chunk.index,
        byte_start=chunk.byte_start,
        byte_end=chunk.byte_end,
        content=chunk.content,
        strategy=chunk.strategy,
        token_count=chunk.token_count,
        line_start=chunk.line_start,
        line_end=chunk.line_end,
        has_overlap=chunk.has_overlap,
        content_hash=digest,
        symbol=chunk.symbol,
    )


def _new_buffer(buffer: Buffer, name: str | None) -> NewBuffer:
    return NewBuffer(
        name=name,
        source=buffer.source,
        content_type=buffer.content_type,
        content_hash=buffer.content_hash,
        size=buffer.size,
        line_count=buffer.line_count,
        collection=buffer.collection,
        encoding=buffer.encoding,
        source_mtime=buffer.source_mtime,
        chunk_strategy=buffer.chunk_strategy,
        chunk_size=buffer.chunk_size,
        chunk_overlap=buffer.chunk_overlap,
    )


def _copy_buffer(
    src: Store, dst: Store, plan: BufferPlan, target_fingerprint: str | None, out: StoreCopied
) -> int:
    """Copy one buffer (row, text, chunks, vectors); returns its destination id."""
    new_id = dst.insert_buffer(_new_buffer(plan.source, plan.target_name))
    written = dst.write_buffer_segments(new_id, src.iter_buffer_segments(plan.source.id))
    if written != plan.source.size:
        raise StorageError(
            f"buffer {_label(plan.source)}: read {written} bytes of its text, expected"
            f" {plan.source.size}; nothing was copied",
            suggestion="Check the source store ('rlm status'); the destination is unchanged",
        )
    chunks = src.list_chunks(plan.source.id)
    for start in range(0, len(chunks), INSERT_BATCH):
        part = chunks[start : start + INSERT_BATCH]
        ids = dst.insert_chunks(new_id, [_new_chunk(c) for c in part])
        mapping = dict(zip((c.id for c in part), ids, strict=True))
        out.id_map.update(mapping)
        _copy_vectors(src, dst, mapping, target_fingerprint, out)
    dst.set_chunk_count(new_id, len(chunks))
    out.chunks += len(chunks)
    return new_id


def _copy_vectors(
    src: Store,
    dst: Store,
    mapping: dict[int, int],
    target_fingerprint: str | None,
    out: StoreCopied,
) -> None:
    """Chunk and passage vectors of one batch of chunks, ids rewritten.

    ``target_fingerprint`` None copies every vector (export); otherwise only
    that model's, and the rest are counted per model in ``vectors_left``.
    """
    rows = src.vector_rows(list(mapping))
    keep = []
    for row in rows:
        if target_fingerprint is None or row.fingerprint == target_fingerprint:
            keep.append(replace(row, chunk_id=mapping[row.chunk_id]))
        else:
            label = row.model_name or "(unknown)"
            out.vectors_left[label] = out.vectors_left.get(label, 0) + 1
    if keep:
        out.vectors += dst.store_vectors(keep)
    passages = [
        replace(p, chunk_id=mapping[p.chunk_id])
        for p in src.passage_rows(list(mapping))
        if target_fingerprint is None or p.fingerprint == target_fingerprint
    ]
    if passages:
        out.passages += dst.store_passages(sorted({p.chunk_id for p in passages}), passages)


def _copy_runs(
    src: Store, dst: Store, plan: CopyPlan, buffer_ids: dict[int, int], out: StoreCopied
) -> None:
    """Recorded dispatch runs, their buffer and chunk ids rewritten to the destination's."""
    for run_id in plan.runs:
        buffer_id, params, chunks = src.get_run(run_id)
        batches: dict[int, list[int]] = {}
        for batch, chunk_id in chunks:
            if chunk_id in out.id_map:  # a chunk replaced since the dispatch has no copy
                batches.setdefault(batch, []).append(out.id_map[chunk_id])
        if isinstance(params.get("chunk_ids"), list):
            params = dict(params)
            params["chunk_ids"] = [
                out.id_map.get(c, c) if isinstance(c, int) else c for c in params["chunk_ids"]
            ]
        target = plan.renames.get(f"run {run_id}", run_id)
        ordered = [batches[b] for b in sorted(batches)]
        dst.create_run(target, buffer_ids[buffer_id], params, ordered)
        out.runs += 1


def _copy_values(dst: Store, plan: CopyPlan, out: StoreCopied) -> None:
    if not any(plan.values.values()):
        return
    ctx = dst.load_context() or {}
    for scope, wanted in plan.values.items():
        holder = ctx.setdefault(scope, {})
        for _, (target, value) in sorted(wanted.items()):
            holder[target] = value
            out.values += 1
    dst.save_context(ctx)


def _target_fingerprint() -> tuple[str, str]:
    """(model name, fingerprint) of the model the destination will search with."""
    from rlm.embedding import get_embedder

    embedder = get_embedder()
    return embedder.name, embedder.fingerprint


def store_copy(
    src: Store,
    dst: Store,
    *,
    on_clash: OnClash = "refuse",
    reembed: bool = False,
    dry_run: bool = False,
    all_vectors: bool = False,
    id_map_file: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    announce: Callable[[CopyPlan, str, str], None] | None = None,
) -> StoreCopied:
    """Copy every buffer, chunk, vector, variable and run of ``src`` into ``dst``.

    ``on_clash``: ``refuse`` (default: :class:`NameClashError` listing every
    clash, nothing written), ``rename`` (``NAME~N``) or ``skip`` (keep the
    destination's). Vectors move only where their fingerprint is the
    destination's model (``all_vectors``: every one, as ``export`` does);
    ``reembed`` then embeds, in the same transaction, every copied chunk left
    without a vector. ``id_map_file`` writes the old -> new chunk id map there
    as JSON instead of returning it in ``to_json()``. ``announce`` hears the plan
    (and both locations) before anything is written.
    """
    if on_clash not in ("refuse", "rename", "skip"):
        raise InvalidArgumentError(f"on_clash must be refuse, rename or skip, not {on_clash!r}")
    if _same_store(src, dst):
        raise InvalidArgumentError(
            "source and destination are the same store",
            suggestion="Name another store as DST (a SQLite path or a postgresql:// URL)",
        )
    plan = plan_copy(src, dst, on_clash=on_clash)
    if announce is not None:
        announce(plan, _where(src), _where(dst))
    out = StoreCopied(source=_where(src), destination=_where(dst), plan=plan, dry_run=dry_run)
    out.warnings.extend(_clash_notes(plan, on_clash))
    target_fp: str | None = None
    if not all_vectors and (plan.vectors_by_model or reembed):
        out.target_model, target_fp = _target_fingerprint()
    elif all_vectors:
        out.target_model = None
    if dry_run:
        return out
    todo = plan.copied_buffers
    buffer_ids: dict[int, int] = {}
    with dst.transaction():
        for done, buffer_plan in enumerate(todo):
            buffer_ids[buffer_plan.source.id] = _copy_buffer(src, dst, buffer_plan, target_fp, out)
            if progress:
                progress(done + 1, len(todo))
        _copy_values(dst, plan, out)
        _copy_runs(src, dst, plan, buffer_ids, out)
        if reembed:
            out.reembedded = _reembed(dst, list(buffer_ids.values()))
    if out.vectors_left:
        left = ", ".join(f"{n:,} of {m}" for m, n in sorted(out.vectors_left.items()))
        hint = (
            f"re-embedded with {out.target_model}"
            if reembed
            else "pass --reembed to embed them now, or run 'rlm chunk embed' on the destination"
        )
        out.warnings.append(
            f"vectors not copied: {left} (the destination searches with {out.target_model}); {hint}"
        )
    if id_map_file is not None:
        _write_id_map(Path(id_map_file), out.id_map)
        out.id_map_file = str(id_map_file)
    return out


def _clash_notes(plan: CopyPlan, on_clash: OnClash) -> list[str]:
    notes: list[str] = []
    if plan.clashes and on_clash == "skip":
        notes.append(
            f"skipped {len(plan.clashes)} name(s) the destination already has: "
            + ", ".join(plan.clashes[:10])
        )
    if plan.renames:
        notes.append(
            "renamed: " + ", ".join(f"{a} -> {b}" for a, b in list(plan.renames.items())[:10])
        )
    if plan.runs_left:
        notes.append(
            f"{plan.runs_left} dispatch run(s) not copied (their buffer was skipped or deleted)"
        )
    return notes


def _reembed(dst: Store, buffer_ids: list[int]) -> int:
    """Embed the copied chunks that have no vector, inside the copy's transaction."""
    from rlm.embedding import get_embedder
    from rlm.embedding.sync import embed_buffer

    embedder = get_embedder()
    return sum(embed_buffer(dst, bid, embedder, replan=False).embedded for bid in buffer_ids)


def _write_id_map(path: Path, id_map: dict[int, int]) -> None:
    import json

    payload = json.dumps({str(k): v for k, v in id_map.items()}, indent=None)
    try:
        path.write_text(payload + "\n", encoding="utf-8")
    except OSError as exc:
        from rlm.errors import WriteError

        raise WriteError(
            f"cannot write the id map to {path}: {exc.strerror or exc}",
            suggestion="The copy itself is committed; pass another --id-map path next time",
        ) from exc


def _where(store: Store) -> str:
    """How messages name a store: its absolute path, or its URL without a password."""
    return store.display_location


def _same_store(a: Store, b: Store) -> bool:
    if is_postgres_url(a.location) or is_postgres_url(b.location):
        return a.identity == b.identity
    try:
        return os.path.samefile(a.path, b.path)
    except (OSError, TypeError, ValueError):
        return False


@contextlib.contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    """A fresh file name next to ``path`` (same filesystem, so the rename is atomic),
    removed with its WAL files unless it was renamed into place."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # Store.init refuses an existing file; the name is ours
    try:
        yield tmp
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)


def store_export(
    src: Store,
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> StoreExported:
    """Write one self-contained SQLite file holding everything in ``src``.

    Built under a temporary name in the same folder and renamed into place
    only when complete, so an existing ``path`` (``force``) is replaced
    whole or not at all, and a failure leaves nothing behind. Every vector is
    included whatever its model (an export is a snapshot); search rebuilds its
    caches from the file, so no sidecar is needed.
    """
    if is_postgres_url(str(path)):
        raise InvalidArgumentError(
            "store export writes one SQLite file, not a PostgreSQL database",
            suggestion="To fill a PostgreSQL database use: rlm store copy SRC postgresql://...",
        )
    target = Path(path)
    existed = target.exists()
    if existed and not force:
        raise DatabaseError(
            f"{target} already exists",
            error_type="ExecutionFailed",
            suggestion="Pass --force to replace it, or choose another file name",
        )
    if existed and not target.is_file():
        raise InvalidArgumentError(f"{target} exists and is not a file")
    if existed and _same_file(target, src):
        raise InvalidArgumentError(
            f"{target} is the store being exported",
            suggestion="Export to another file name",
        )
    if not target.parent.is_dir():
        raise InvalidArgumentError(
            f"folder {target.parent} does not exist",
            suggestion="Create it first, or export to an existing folder",
        )
    with _temporary_sibling(target) as tmp:
        snapshot = Store.init(tmp)
        try:
            copied = store_copy(src, snapshot, all_vectors=True, progress=progress)
        finally:
            snapshot.close()  # the last connection: SQLite folds the WAL into the file
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)  # a stale WAL would replay
        os.replace(tmp, target)
    copied.destination = str(target)
    return StoreExported(
        path=str(target),
        copied=copied,
        size=target.stat().st_size,
        replaced=existed,
        warnings=list(copied.warnings),
    )


def _same_file(target: Path, src: Store) -> bool:
    if is_postgres_url(src.location):
        return False  # its data is on the server, not in a local file
    try:
        return os.path.samefile(target, src.path)
    except (OSError, TypeError, ValueError):
        return False


def open_store(
    location: str | os.PathLike[str], *, read_only: bool = False, create: bool = False
) -> Store:
    """Open a store by path (or, with the PostgreSQL backend, by URL); ``create``
    initialises one that does not exist yet."""
    if create and is_postgres_url(location):
        return Store.init(location)  # creates the schema, or opens an existing store as is
    if create and not Path(location).exists():
        return Store.init(location)
    return Store.open(location, read_only=read_only)


def copy_stores(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    **options: Any,
) -> StoreCopied:
    """:func:`store_copy` between two locations (paths or URLs), opening and closing both.

    A SQLite destination that does not exist is created, and removed again if
    the copy fails, so a failed copy leaves no new file behind.
    """
    src = open_store(source, read_only=True)
    try:
        created = False
        dst_path = Path(destination)
        if not is_postgres_url(destination) and not dst_path.exists():
            dst = Store.init(dst_path)
            created = True
        else:  # a PostgreSQL database without rlm's tables gets them, as 'rlm init' would
            dst = open_store(destination, create=is_postgres_url(destination))
        try:
            result = store_copy(src, dst, **options)
        except BaseException:
            dst.close()
            if created:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(str(dst_path) + suffix).unlink(missing_ok=True)
            raise
        dst.close()
        if created and result.dry_run:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(dst_path) + suffix).unlink(missing_ok=True)
        result.created = created and not result.dry_run
        return result
    finally:
        src.close()
