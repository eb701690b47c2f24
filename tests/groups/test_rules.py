"""The group rules: roles, mentions and commands, who reads what, loops."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from columba.groups import rules
from columba.groups.rules import MAX_HOP, ReadScope, Role


def test_mentions_and_commands() -> None:
    assert rules.mentions("hi @FAQ and @remind, mail a@b.c") == ("faq", "remind")
    found = rules.command('  /poll@remind "Lunch?" a b')
    assert found is not None
    assert (found.name, found.addressed_to, found.args) == ("poll", "remind", '"Lunch?" a b')
    assert rules.command("no /command here") is None
    assert rules.command("/") is None


def _reads(scope: ReadScope, text: str, **kw: object) -> bool:
    args: dict[str, object] = {"sender_is_robot": False, "is_own": False, "hop": 0}
    args.update(kw)
    return rules.robot_reads(scope=scope, robot_name="faq", text=text, **args)  # type: ignore[arg-type]


def test_read_scope() -> None:
    assert not _reads(ReadScope.MENTIONS, "hello all")
    assert _reads(ReadScope.MENTIONS, "hey @faq what now")
    assert _reads(ReadScope.MENTIONS, "/faq what now")
    assert not _reads(ReadScope.MENTIONS, "/poll@remind x")  # a command for another robot
    assert _reads(ReadScope.ALL, "hello all")


def test_robots_do_not_read_robots_and_hops_stop_loops() -> None:
    assert not _reads(ReadScope.ALL, "@faq hi", sender_is_robot=True)
    assert not _reads(ReadScope.ALL, "@faq hi", is_own=True)
    assert not _reads(ReadScope.ALL, "@faq hi", hop=MAX_HOP)


def test_roles() -> None:
    assert rules.may_kick(Role.OWNER, Role.ADMIN)
    assert rules.may_kick(Role.ADMIN, Role.MEMBER)
    assert not rules.may_kick(Role.ADMIN, Role.ADMIN)
    assert not rules.may_kick(Role.ADMIN, Role.OWNER)
    assert not rules.may_kick(Role.MEMBER, Role.MEMBER)
    assert rules.may_set_role(Role.OWNER, Role.MEMBER, Role.ADMIN)
    assert not rules.may_set_role(Role.ADMIN, Role.MEMBER, Role.ADMIN)
    assert not rules.may_set_role(Role.OWNER, Role.OWNER, Role.MEMBER)


def test_group_uris() -> None:
    assert rules.group_uri(12, "columba.local") == "sip:PG12@columba.local"
    assert rules.group_id_of("PG12") == 12
    assert rules.group_id_of("PGx") is None
    assert rules.group_id_of("123456789") is None


@given(st.text(max_size=300))
def test_parsers_never_raise(text: str) -> None:
    rules.mentions(text)
    rules.command(text)
    rules.group_id_of(text)
