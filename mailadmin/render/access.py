"""Access answers as people and scripts read them: `users can` (one line, or the checked path as
a tree), `users can --list`, the `users access` matrix with its locks and legend, and the impact
of a role change before it is made."""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, Output, isatty, counted, escape, view

CAN = view("can", "user", "key", "domain", "allowed", "reason", "decided_by", "fix")
CAN_EXPLAINED = view("can_explained", *CAN.fields, "steps")
STEP = view("can_step", "check", "passed", "detail")
CAN_LIST = view("can_list", "user", "domain", "allowed")
ACCESS_CELL = view("access_cell", "area", "level", "key", "state", "reason", "decided_by")
IMPACT = view("impact", "user", "account", "member_role", "package", "gains", "loses")
IMPACT_REPORT = view("impact_report", "change", "dry_run", "people")

MARKS = {  # state -> (terminal, ascii)
    "allowed": ("[green]✔[/]", "yes"),
    "not granted": ("[dim]✘[/]", "no"),
    "locked": ("[yellow]🔒[/]", "locked"),
}


def _mark(out: Output, state: str) -> str:
    fancy, ascii_ = MARKS[state]
    return ascii_ if out.plain() else fancy


# -- users can -------------------------------------------------------------------------------
def can_json(d, *, explain: bool) -> dict[str, Any]:
    base = dict(user=d.user, key=d.key, domain=d.domain, allowed=d.allowed, reason=d.reason, decided_by=d.decided_by,
                fix=d.fix)
    if not explain:
        return CAN(**base)
    return CAN_EXPLAINED(**base, steps=[STEP(check=s.check, passed=s.passed, detail=s.detail) for s in d.steps])


def answer(out: Output, d, fmt: Format, *, explain: bool) -> None:
    """One line on stdout (`yes: ...` / `no: ...`), like `kubectl auth can-i`; with --explain the
    checked path as a tree, the rule that decided, and what would allow a denial."""
    if fmt is Format.json:
        out.json(can_json(d, explain=explain))
        return
    if out.quiet:
        return
    on = f" on {d.domain}" if d.domain else ""
    if not explain:
        out.lines([f"{'yes' if d.allowed else 'no'}: {d.reason}"])
        return
    # drawn by hand, not with Rich's Tree: the path is one level deep, and `can` is called by
    # programs that should not pay Rich's import for it
    marks = ("✔", "✘") if isatty(out.stdout) and not out.env.get("NO_COLOR") else ("pass", "FAIL")
    steps = [s for s in d.steps if s.check != "answer"]
    lines = [f"{d.user} {d.key}{on}: {'allowed' if d.allowed else 'denied'}"]
    for i, step in enumerate(steps):
        branch = "└──" if i == len(steps) - 1 else "├──"
        lines.append(f"{branch} {marks[0] if step.passed else marks[1]} {step.check}: {step.detail}")
    lines.append(f"decided by: {d.decided_by}")
    if d.fix:
        lines.append(f"to allow it: {d.fix}")
    out.lines(lines)


def allowed_list(out: Output, user: str, domain: str | None, keys: list[str], fmt: Format) -> None:
    if fmt is Format.json:
        out.json(CAN_LIST(user=user, domain=domain, allowed=keys))
        return
    out.lines(keys)
    if not keys:
        on = f" on {domain}" if domain else ""
        out.message(f"{user} may use nothing{on}")


# -- users access ----------------------------------------------------------------------------
def access_matrix(out: Output, user: str, domain: str | None, rows, fmt: Format) -> None:
    """Areas x levels. Locked cells carry a numbered note: the legend says what withholds them."""
    cells = [(area, c) for area, area_cells in rows for c in area_cells]
    if fmt in (Format.json, Format.csv):
        data = [ACCESS_CELL(area=area, level=c.level, key=c.key, state=c.state, reason=c.reason, decided_by=c.decided_by)
                for area, c in cells]
        out.rows(data, [Column(f) for f in ACCESS_CELL.fields], fmt, shape=ACCESS_CELL)
        return
    notes: dict[str, int] = {}
    table = out.table(title=f"{user}{f' on {domain}' if domain else ''}")
    table.add_column("Area")
    table.add_column("Levels")
    for area, area_cells in rows:
        parts = []
        for c in area_cells:
            text = f"{escape(c.level)} {_mark(out, c.state)}"
            if c.state == "locked":
                number = notes.setdefault(c.reason, len(notes) + 1)
                text += f"({number})" if out.plain() else f"[yellow]{number}[/]"
            parts.append(text)
        table.add_row(escape(area), "  ".join(parts))
    out.print_whole(table)
    sep = " = " if out.plain() else " "
    legend = [f"{_mark(out, 'allowed')}{sep}allowed   {_mark(out, 'not granted')}{sep}not granted (a role or grant could "
              f"give it)   {_mark(out, 'locked')}{sep}withheld by the package or the account's state"
              + ("" if notes else " (none)")]
    legend += [f"  {n}. {escape(reason)}" for reason, n in notes.items()]
    for line in legend:
        out.print(line)


# -- impact of a role change -----------------------------------------------------------------
IMPACT_COLUMNS = [Column("user"), Column("account"), Column("member_role", "Role"), Column("package"),
                  Column("gains", wrap=True), Column("loses", wrap=True)]


def impact_rows(people) -> list[dict[str, Any]]:
    return [IMPACT(user=p.user, account=p.account, member_role=p.member_role, package=p.package, gains=p.gains,
                   loses=p.loses) for p in people]


def impact_report(out: Output, change: str, people, fmt: Format, *, dry_run: bool) -> None:
    """Who would gain or lose what, key by key; nothing printed on stdout for a table when no one."""
    if fmt is Format.json:
        out.json(IMPACT_REPORT(change=change, dry_run=dry_run, people=impact_rows(people)))
        return
    if people:
        out.rows(impact_rows(people), IMPACT_COLUMNS, fmt, shape=IMPACT)
    accounts = len({p.account for p in people})
    verb = "would change" if dry_run else "changed"
    out.message(f"{change}: {verb} the permissions of {counted(len(people), 'person', 'people')} "
                f"in {counted(accounts, 'account')}" + ("; nothing was changed (dry run)" if dry_run else ""))
