"""The ledger kinds are declared once (mailadmin/vocab.py): the models' CHECK constraints and the
CLI's --kind choices derive from it, and the frozen migration must state the same words."""

from __future__ import annotations

import re
from pathlib import Path

from mailadmin import vocab
from mailadmin.store.models import CreditEntry

MIGRATION = Path(__file__).resolve().parents[2] / "mailadmin/store/migrations/versions/0001_initial_schema.py"


def _migration_checks(table: str) -> dict[str, str]:
    """{constraint name: CHECK text} of one table in the initial migration's source."""
    source = MIGRATION.read_text()
    block = source[source.index(f"op.create_table('{table}'"):]
    block = block[: block.index("\n    )\n")]
    found = re.findall(r"sa\.CheckConstraint\((['\"])(.*?)\1, name=op\.f\('ck_%s_(\w+)'\)\)" % table, block)
    return {name: text for _quote, text, name in found}


def _model_checks() -> dict[str, str]:
    return {c.name.removeprefix("ck_credit_entry_"): str(c.sqltext) for c in CreditEntry.__table__.constraints if hasattr(c, "sqltext")}


def test_the_models_checks_are_the_migrations_word_for_word():
    migration = _migration_checks("credit_entry")
    assert set(migration) == {"kind_known", "amount_sign", "debit_floor"}
    assert _model_checks() == migration


def test_the_migration_states_the_kinds_vocab_declares():
    checks = _migration_checks("credit_entry")
    listed = lambda text: tuple(re.findall(r"'(\w+)'", text))  # noqa: E731
    assert listed(checks["kind_known"]) == vocab.LEDGER_KINDS
    credit, debit, adjust = re.fullmatch(r"\(kind IN \((.*)\) AND amount > 0\) OR \(kind IN \((.*)\) AND amount < 0\)"
                                         r" OR \(kind = '(\w+)' AND amount <> 0\)", checks["amount_sign"]).groups()
    assert (listed(credit), listed(debit), adjust) == (vocab.CREDIT_KINDS, vocab.DEBIT_KINDS, vocab.ADJUST)
    assert listed(checks["debit_floor"]) == vocab.DEBIT_KINDS
    assert set(vocab.LEDGER_KINDS) == {*vocab.CREDIT_KINDS, *vocab.DEBIT_KINDS, vocab.ADJUST}


def test_the_cli_offers_the_declared_kinds():
    from mailadmin.cli import credits as cli

    assert tuple(k.value for k in cli.AddKind) == vocab.CREDIT_KINDS
    assert tuple(k.value for k in cli.DeductKind) == vocab.DEBIT_KINDS
    assert tuple(k.value for k in cli.LedgerKind) == vocab.LEDGER_KINDS


def test_sql_in():
    assert vocab.sql_in("kind", ("topup", "refund")) == "kind IN ('topup', 'refund')"
