"""A throwaway PostgreSQL server for the tests (and for ``.ci/run`` and ``bench/``).

``initdb`` refuses to run as root, so as root the cluster is created and started as the ``postgres``
user.  The server listens on 127.0.0.1 at a free port and on a private socket directory; fsync is
off (the data is thrown away).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bin_dir() -> Path | None:
    """The directory with ``initdb`` and ``pg_ctl`` (newest version first)."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        real = Path(on_path).resolve().parent
        if all((real / tool).exists() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return real
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(found):
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bin_dir: Path, base: Path, port: int, as_user: str | None) -> None:
        self.bin_dir = bin_dir
        self.base = base
        self.data = base / "data"
        self.port = port
        self.as_user = as_user

    @property
    def url(self) -> str:
        """An address for the maintenance database ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        if self.as_user:
            return ["runuser", "-u", self.as_user, "--", *args]
        return list(args)

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.base, user=self.as_user)
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.base / "server.log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start: " + (self.base / "server.log").read_text())

    def stop(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
            ),
            capture_output=True,
        )
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster() -> Cluster:
    """Start a throwaway cluster or raise RuntimeError saying why it cannot."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    as_user = None
    if os.geteuid() == 0:
        as_user = "postgres"
        try:
            import pwd

            pwd.getpwnam(as_user)
        except KeyError as error:
            raise RuntimeError("running as root and there is no 'postgres' user") from error
    base = Path(tempfile.mkdtemp(prefix="prepfloor-pg-"))
    os.chmod(base, 0o755)
    cluster = Cluster(bin_dir, base, free_port(), as_user)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    return cluster
