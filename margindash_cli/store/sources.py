"""Ingest's files (`sources`): how far each has been read, so a re-run resumes where the last one stopped.

Invariants:
- A checkpoint only moves forward (two overlapping runs may finish out of order); its tail hash moves with the
  offset it describes.
- A checkpoint is saved in the same transaction as the batch of events read up to it.
- A file is known by its identity (hash of its first line), preferring its path: a rotated file keeps its identity.
"""

from __future__ import annotations

from margindash_cli.store.rows import SourceCheckpoint, SourceRow
from margindash_cli.store.sql import Repository, _now_iso


class Sources(Repository):
    """Ingest checkpoints of the files read."""

    # -- writing --

    def source_id(self, path: str, identity: str | None) -> int:
        """The id of a (path, identity) source, created on first sight (inside a write transaction)."""
        row = self.conn.execute("SELECT id FROM sources WHERE path = ? AND identity IS ?", (path, identity)).fetchone()
        if row is None:
            row = self.conn.execute(
                "INSERT INTO sources (path, identity) VALUES (?, ?) RETURNING id", (path, identity)
            ).fetchone()
        return row[0]

    def save_checkpoint(
        self,
        source_id: int,
        *,
        dev: int | None,
        ino: int | None,
        offset: int,
        line: int,
        size: int | None,
        mtime_ns: int | None,
        tail_hash: str | None = None,
    ) -> None:
        """Move a source's checkpoint forward; never backward (two overlapping runs may finish out of order).
        `tail_hash` (the bytes before `offset`) moves with the offset it describes."""
        self.conn.execute(
            "UPDATE sources SET dev = ?, ino = ?, tail_hash = CASE WHEN ? >= offset THEN ? ELSE tail_hash END,"
            " offset = max(offset, ?), line = max(line, ?), size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (dev, ino, offset, tail_hash, offset, line, size, mtime_ns, _now_iso(), source_id),
        )

    def restart_checkpoint(self, source_id: int) -> None:
        """Put a source's checkpoint back to the start (inside a write transaction): the file now at its path is
        not the one it described, and `save_checkpoint` alone never moves backward."""
        self.conn.execute("UPDATE sources SET offset = 0, line = 0, tail_hash = NULL WHERE id = ?", (source_id,))

    # -- reading --

    def find_source(self, path: str, identity: str | None) -> SourceCheckpoint | None:
        """The checkpoint of a file with this identity, preferring this path (a rotated file keeps its identity)."""
        cols = "id, path, identity, dev, ino, offset, line, size, mtime_ns"
        if identity is None:
            row = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE path = ? AND identity IS NULL", (path,)
            ).fetchone()
        else:
            row = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE identity = ? ORDER BY path = ? DESC, offset DESC LIMIT 1",
                (identity, path),
            ).fetchone()
        return SourceCheckpoint(*row) if row else None

    def list_sources(self) -> list[SourceCheckpoint]:
        rows = self.conn.execute(
            "SELECT id, path, identity, dev, ino, offset, line, size, mtime_ns FROM sources ORDER BY path"
        ).fetchall()
        return [SourceCheckpoint(*r) for r in rows]

    def source_rows(self) -> list[SourceRow]:
        """(path, identity, byte offset, line, updated_at) of every ingest checkpoint, by path."""
        return [
            SourceRow._make(r)
            for r in self.conn.execute(
                "SELECT path, identity, offset, line, updated_at FROM sources ORDER BY path, updated_at"
            )
        ]

    def resume_candidates(self, path: str, identity: str | None) -> list[SourceCheckpoint]:
        """Every checkpoint a file at `path` with this identity might continue: this path's first, then other paths'
        (a rotated file keeps its first line), furthest first. Ingest resumes only one it proves is this file."""
        cols = "id, path, identity, dev, ino, offset, line, size, mtime_ns, tail_hash"
        if identity is None:
            rows = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE path = ? AND identity IS NULL", (path,)
            ).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT {cols} FROM sources WHERE identity = ? ORDER BY path = ? DESC, offset DESC, id",
                (identity, path),
            ).fetchall()
        return [SourceCheckpoint(*r) for r in rows]
