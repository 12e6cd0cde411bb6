"""The audit log as people and scripts read it: entries, and what `verify` found."""

from __future__ import annotations

from mailadmin.render.output import Column, Format, Output, counted, view

ENTRY = view("audit_entry", "id", "at", "actor", "as_user", "action", "target", "before", "after")
VERIFY = view("audit_verify", "checked", "ok", "problems", "from_hash", "from_seq")
HEAD = view("audit_head", "seq", "hash", "entries")
PROBLEM = view("audit_problem", "id", "problem")
COLUMNS = [Column("id", justify="right"), Column("at"), Column("actor"), Column("as_user", wide=True), Column("action"),
           Column("target")]


def entries(out: Output, rows, fmt: Format) -> None:
    data = [ENTRY(id=r.id, at=r.at, actor=r.actor, as_user=r.as_user, action=r.action, target=r.target, before=r.before, after=r.after)
            for r in rows]
    out.rows(data, COLUMNS, fmt, id_key="id", empty="no audit entries match", shape=ENTRY)


def verified(out: Output, result, fmt: Format) -> None:
    """The details as JSON on stdout when asked; an intact log says so in one stderr line (a
    tampered one is the error line the command raises, see `tampered`)."""
    if fmt is Format.json:
        out.json(VERIFY(checked=result.checked, ok=not result.problems, from_hash=result.from_hash,
                        from_seq=result.from_seq,
                        problems=[PROBLEM(id=p.entry_id, problem=p.problem) for p in result.problems]))
    elif not result.problems:
        kept = f", and it extends the kept head (entry {result.from_seq})" if result.from_hash else ""
        out.message(f"audit log intact: {counted(result.checked, 'entry', 'entries')}{kept}")


def tampered(result) -> str:
    """One line: how much is wrong, and the first thing wrong (the rest: -o json)."""
    first = result.problems[0]
    where = f"entry {first.entry_id}: " if first.entry_id is not None else ""
    more = f"; {len(result.problems) - 1} more with -o json" if len(result.problems) > 1 else ""
    return (f"the audit log has been tampered with: {counted(len(result.problems), 'problem')} in "
            f"{counted(result.checked, 'entry', 'entries')}; {where}{first.problem}{more}")


def head(out: Output, h, fmt: Format) -> None:
    out.record(HEAD(seq=h.seq, hash=h.hash, entries=h.entries), fmt)
