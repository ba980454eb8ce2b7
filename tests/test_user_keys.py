"""Users' SSH public keys and the shared-terminal flag (``prepfloor serve``): the rules on both
engines, and the ``prepfloor users add-key / keys / remove-key / set-terminal`` commands."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from test_cli import _no_user_config  # noqa: F401  (the machine's config stays out)
from typer.testing import CliRunner

from db import users
from db.errors import Invalid, NotAllowed, NotFound
from db.models import Event
from prepfloor.cli import app

runner = CliRunner()


def make_key(directory: Path, name: str, kind: str = "ed25519", comment: str = "") -> Path:
    """A new key pair made by OpenSSH's own ssh-keygen; returns the private key's path."""
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment or name, "-f", str(path)],
        check=True,
    )
    return path


def openssh_fingerprint(public: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(public)], check=True, capture_output=True)
    return out.stdout.decode().split()[1]


def key_events(world: Any) -> list[tuple[str, Any]]:
    return world.db.query(
        lambda s: [
            (e.action, e.changes)
            for e in s.exec(
                select(Event).where(Event.action.in_(["add_key", "remove_key"])).order_by(Event.id)
            )
        ]
    )


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_parsed_fingerprint_is_the_one_openssh_shows(tmp_path: Path, kind: str) -> None:
    key = make_key(tmp_path, f"id_{kind}", kind, comment="kari@laptop")
    public = Path(f"{key}.pub")
    parsed = users.parse_public_key(public.read_text())
    assert parsed.fingerprint == openssh_fingerprint(public)
    assert parsed.comment == "kari@laptop"
    assert parsed.key_type == public.read_text().split()[0]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("hello world\n", "Not an SSH public key"),
        ("ssh-ed25519\n", "cut short"),
        ("ssh-ed25519 !!!notbase64!!!\n", "not base64"),
        ("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==\n", "does not match its type"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "private key"),
    ],
)
def test_bad_key_text_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        users.parse_public_key(text)


def test_two_keys_in_one_file_are_refused(tmp_path: Path) -> None:
    first = Path(f"{make_key(tmp_path, 'a')}.pub").read_text()
    second = Path(f"{make_key(tmp_path, 'b')}.pub").read_text()
    with pytest.raises(Invalid, match="One key at a time"):
        users.parse_public_key(first + second)


def test_keys_add_list_login_remove(world: Any, tmp_path: Path) -> None:
    mechanic = world["mechanic499"]
    public = Path(f"{make_key(tmp_path, 'per')}.pub")
    fingerprint = openssh_fingerprint(public)
    added = world.db.run(users.add_key, None, mechanic.user_id, public.read_text())
    assert added.fingerprint == fingerprint

    keys = world.db.query(users.user_keys, mechanic.user_id)
    assert [k.fingerprint for k in keys] == [fingerprint]

    who = world.db.query(users.key_login, "mechanic499", fingerprint)
    assert who == users.KeyLogin("mechanic499", who.display_name, False)
    assert world.db.query(users.key_login, "MECHANIC499", fingerprint) is not None
    # the key is this user's, not another's, and an unknown key is nobody's
    assert world.db.query(users.key_login, "detailer499", fingerprint) is None
    assert world.db.query(users.key_login, "mechanic499", "SHA256:unknown") is None

    # a key belongs to one user only
    with pytest.raises(Invalid, match="already mechanic499's"):
        world.db.run(users.add_key, None, world["detailer499"].user_id, public.read_text())
    with pytest.raises(Invalid, match="already this user's"):
        world.db.run(users.add_key, None, mechanic.user_id, public.read_text())

    with pytest.raises(NotFound, match="has no key"):
        world.db.run(users.remove_key, None, mechanic.user_id, "SHA256:nope")
    removed = world.db.run(users.remove_key, None, mechanic.user_id, fingerprint[7:])
    assert removed.fingerprint == fingerprint
    assert world.db.query(users.user_keys, mechanic.user_id) == []
    assert world.db.query(users.key_login, "mechanic499", fingerprint) is None
    assert [action for action, _ in key_events(world)] == ["add_key", "remove_key"]
    assert key_events(world)[0][1]["fingerprint"] == fingerprint


def test_a_deactivated_user_cannot_sign_in_by_key(world: Any, tmp_path: Path) -> None:
    seller = world["seller495"]
    public = Path(f"{make_key(tmp_path, 'kari')}.pub")
    key = world.db.run(users.add_key, None, seller.user_id, public.read_text())
    assert world.db.query(users.key_login, "seller495", key.fingerprint) is not None
    user = world.db.query(lambda s: users.by_login(s, "seller495"))
    world.db.run(
        users.update_user,
        world["admin"],
        seller.user_id,
        display_name=user.display_name,
        role=user.role,
        dealership_id=user.dealership_id,
        active=False,
    )
    assert world.db.query(users.key_login, "seller495", key.fingerprint) is None


def test_terminal_flag_and_who_may_change_keys(world: Any, tmp_path: Path) -> None:
    mechanic = world["mechanic499"]
    public = Path(f"{make_key(tmp_path, 'bench')}.pub").read_text()
    with pytest.raises(NotAllowed):
        world.db.run(users.add_key, mechanic, mechanic.user_id, public)
    with pytest.raises(NotAllowed):
        world.db.run(users.set_terminal, mechanic, mechanic.user_id, True)
    key = world.db.run(users.add_key, world["admin"], mechanic.user_id, public)
    world.db.run(users.set_terminal, world["admin"], mechanic.user_id, True)
    who = world.db.query(users.key_login, "mechanic499", key.fingerprint)
    assert who.is_terminal is True
    world.db.run(users.set_terminal, None, mechanic.user_id, False)
    assert world.db.query(users.key_login, "mechanic499", key.fingerprint).is_terminal is False


# -- the command line ----------------------------------------------------------------------------
def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_cli_add_list_remove_keys(world: Any, store: Any, tmp_path: Path) -> None:
    url = store.url
    private = make_key(tmp_path, "id_ed25519", comment="per@workshop")
    public = Path(f"{private}.pub")
    fingerprint = openssh_fingerprint(public)

    result = cli("users", "add-key", "mechanic499", str(public), "--db", url)
    assert result.exit_code == 0, result.output
    assert f"Key {fingerprint} (ssh-ed25519) added for mechanic499." in result.stdout

    result = cli("users", "keys", "mechanic499", "--db", url)
    assert result.exit_code == 0, result.output
    assert fingerprint in result.stdout and "per@workshop" in result.stdout

    refusals = {
        "duplicate": (("mechanic499", str(public)), "already this user's"),
        "other user": (("detailer499", str(public)), "already mechanic499's"),
        "private key": (("mechanic499", str(private)), "That is a private key"),
        "not a key": (("mechanic499", __file__), "Not an SSH public key"),
        "no file": (("mechanic499", str(tmp_path / "missing.pub")), "there is no file"),
        "folder": (("mechanic499", str(tmp_path)), "is a folder"),
        "unknown user": (("nobody", str(public)), "no active user 'nobody'"),
    }
    for what, (args, says) in refusals.items():
        result = cli("users", "add-key", *args, "--db", url)
        assert result.exit_code == 1, what
        assert says in result.stderr, (what, result.stderr)

    result = cli("users", "remove-key", "mechanic499", "SHA256:nope", "--db", url)
    assert result.exit_code == 1 and "has no key 'SHA256:nope'" in result.stderr
    number = str(world.db.query(users.user_keys, world["mechanic499"].user_id)[0].id)
    result = cli("users", "remove-key", "mechanic499", number, "--db", url)
    assert result.exit_code == 0, result.output
    assert f"Key {fingerprint} removed from mechanic499." in result.stdout
    result = cli("users", "keys", "mechanic499", "--db", url)
    assert "has no SSH keys" in result.stdout


def test_cli_set_terminal(world: Any, store: Any) -> None:
    result = cli("users", "set-terminal", "detailer499", "--db", store.url)
    assert result.exit_code == 0, result.output
    assert "is now a shared terminal" in result.stdout
    flag = world.db.query(lambda s: users.by_login(s, "detailer499").is_terminal)
    assert flag is True
    result = cli("users", "set-terminal", "detailer499", "--off", "--db", store.url)
    assert "is now an ordinary user" in result.stdout
    assert world.db.query(lambda s: users.by_login(s, "detailer499").is_terminal) is False
