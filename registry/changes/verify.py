"""Verifying the change log: the hash chain from the first row, and every signed checkpoint against it."""

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry import timestamps
from registry.changes import checkpoints
from registry.changes.service import GENESIS, row_hash
from registry.settings import Settings
from registry.tables import Change, Checkpoint


@dataclass
class CheckpointProblem:
    """One checkpoint that is forged, missing from the database, or contradicted by the log."""

    checkpoint: str
    change_id: int | None
    problem: str


@dataclass
class ChainReport:
    """The result of checking the whole chain from the first row, and the checkpoints against it."""

    ok: bool
    rows: int
    head: str
    first_bad_id: int | None = None
    problem: str | None = None
    chain_ok: bool = True
    checkpoints: int = 0
    checkpoint_files: int = 0
    checkpoints_timestamped: int = 0
    checkpoint_problems: list[CheckpointProblem] = field(default_factory=list)


@dataclass
class _Expected:
    label: str
    change_id: int
    change_hash: str
    rows: int


class CheckpointCheck:
    """The checkpoints of the database and of the directory, signatures checked, waiting for their rows."""

    def __init__(self) -> None:
        self.problems: list[CheckpointProblem] = []
        self.expected: dict[int, list[_Expected]] = {}
        self.files = 0
        self.count = 0
        self.timestamped: set[str] = set()  # contents whose timestamp token holds

    @classmethod
    async def load(cls, settings: Settings) -> "CheckpointCheck":
        check = cls()
        rows = await Checkpoint.select(
            Checkpoint.id, Checkpoint.content, Checkpoint.signature, Checkpoint.timestamp_token
        ).order_by(Checkpoint.id)
        stored = [(f"checkpoint {row['id']}", row["content"], row["signature"]) for row in rows]
        files = checkpoints.read_files(Path(settings.checkpoint_dir))
        check.files = len(files)
        if not stored and not files:
            return check
        try:
            cert = checkpoints.certificate(settings.signing_cert_file)
        except checkpoints.SigningUnavailable as exc:
            check.problems.append(CheckpointProblem("all checkpoints", None, exc.detail))
            return check
        in_database = {content for _, content, _ in stored}
        for label, content, signature in stored:
            check._admit(label, content, signature, cert)
        for name, body in files:
            if body is None:
                check.problems.append(CheckpointProblem(f"file {name}", None, "cannot be read"))
            elif check._admit(f"file {name}", body["content"], body["signature"], cert) and (
                body["content"] not in in_database
            ):
                check._problem(f"file {name}", body["content"], "is not in the database (deleted from it?)")
        tokens = [(f"checkpoint {r['id']}", r["content"], r["signature"], r["timestamp_token"]) for r in rows]
        tokens += [
            (f"file {n}", b["content"], b["signature"], b.get("timestamp_token")) for n, b in files if b
        ]
        for label, content, signature, token in tokens:
            if token:
                await check._check_token(label, content, signature, token, settings)
        return check

    async def _check_token(self, label: str, content: str, signature: str, token: str, settings) -> None:
        """A token over SHA-256 of the signature's bytes, by an authority trusted here."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            return  # the signature check has named it already
        if (why := await timestamps.token_problem(token, raw, settings)) is not None:
            self._problem(label, content, why)
        else:
            self.timestamped.add(content)

    def _admit(self, label: str, content: str, signature: str, cert: Any) -> bool:
        if (why := checkpoints.signature_problem(content, signature, cert)) is not None:
            self._problem(label, content, why)
            return False
        fields = checkpoints.parse(content) or {}
        if not all(isinstance(fields.get(k), int) for k in ("change_id", "rows")):
            self._problem(label, content, "names no change row")
            return False
        expected = _Expected(label, fields["change_id"], str(fields.get("change_hash")), fields["rows"])
        same = self.expected.setdefault(expected.change_id, [])
        if not any((e.change_hash, e.rows) == (expected.change_hash, expected.rows) for e in same):
            same.append(expected)  # a file and its database row are one checkpoint
            self.count += 1
        return True

    def _problem(self, label: str, content: str, problem: str) -> None:
        change_id = (checkpoints.parse(content) or {}).get("change_id")
        self.problems.append(
            CheckpointProblem(label, change_id if isinstance(change_id, int) else None, problem)
        )

    def at_row(self, row: dict[str, Any], rows_so_far: int) -> None:
        """Compare the checkpoints naming this row with it (``rows_so_far`` includes it)."""
        for e in self.expected.pop(row["id"], ()):
            if e.change_hash != row["hash"]:
                self.problems.append(
                    CheckpointProblem(
                        e.label,
                        e.change_id,
                        f"change row {e.change_id} now has another hash than the one signed "
                        "(the log was rewritten after the checkpoint)",
                    )
                )
            elif e.rows != rows_so_far:
                self.problems.append(
                    CheckpointProblem(
                        e.label,
                        e.change_id,
                        f"{rows_so_far} rows up to change row {e.change_id}, {e.rows} signed "
                        "(rows were removed or added before it)",
                    )
                )

    def at_end(self, last_id: int) -> None:
        """The checkpoints whose row never came: the log was cut below them, or their row removed."""
        for change_id, expected in sorted(self.expected.items()):
            if change_id == 0:
                continue  # made on an empty log: it claims nothing
            where = f"beyond the head (row {last_id})" if change_id > last_id else "missing"
            for e in expected:
                self.problems.append(
                    CheckpointProblem(
                        e.label,
                        change_id,
                        f"names change row {change_id}, which is {where}: the log was truncated",
                    )
                )


async def verify_chain(settings: Settings, batch: int = 1000) -> ChainReport:
    """Walk the chain from the first row, checking each row's link and hash and every checkpoint's row."""
    check = await CheckpointCheck.load(settings)
    report = await _walk(check, batch)
    report.chain_ok = report.ok
    report.checkpoints, report.checkpoint_files = check.count, check.files
    report.checkpoints_timestamped = len(check.timestamped)
    report.checkpoint_problems = check.problems
    if check.problems:
        first = check.problems[0]
        if report.ok:
            report.first_bad_id, report.problem = first.change_id, f"{first.checkpoint} {first.problem}"
        report.ok = False
    return report


async def _walk(check: CheckpointCheck, batch: int) -> ChainReport:
    previous, count, last_id = GENESIS, 0, 0
    while True:
        rows = (
            await Change.select()
            .where(Change.id > last_id)
            .order_by(Change.id)
            .limit(batch)
            .output(load_json=True)
        )
        if not rows:
            check.at_end(last_id)
            return ChainReport(ok=True, rows=count, head=previous)
        for row in rows:
            if row["prev_hash"] != previous:
                return ChainReport(
                    False,
                    count,
                    previous,
                    row["id"],
                    "does not follow the row before it (a row was removed, inserted or reordered)",
                )
            if row_hash(row) != row["hash"]:
                return ChainReport(
                    False,
                    count,
                    previous,
                    row["id"],
                    "its content does not match its hash (the row was edited)",
                )
            previous, count, last_id = row["hash"], count + 1, row["id"]
            check.at_row(row, count)
