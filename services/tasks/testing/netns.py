"""Test hosts in Linux network namespaces, made and removed by the test itself (root only).

One bridge in the root namespace with the test's own subnet (10.213.0.0/24 by default):
`.1` is the root namespace (where the test and its clients run), `.2` a second root address
for the database (a `socat` forwarder to the local PostgreSQL, which listens on 127.0.0.1
only), and every `Host` is a namespace with a veth on the bridge. Traffic never leaves the
bridge: nothing here routes to any other network.

Faults, all undone by `heal` / `close`:
- `cut(host)`: the root end of the host's veth goes down — its packets vanish silently (no
  reset, no error), as in a real partition; the processes inside keep running.
- `blackhole(host, address)`: inside the host, a blackhole route to one address (e.g. the
  database) — that host alone cannot reach it, everyone can still reach the host.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field

DEFAULT_SUBNET = "10.213.0"


def netns_unavailable_reason() -> str | None:
    """Why this machine cannot make test namespaces (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool in ("ip", "socat"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"bt-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Host:
    name: str  # the namespace
    address: str
    root_veth: str

    def wrap(self, args: list[str]) -> list[str]:
        """`args` run inside this host's namespace."""
        return ["ip", "netns", "exec", self.name, *args]


@dataclass
class Lab:
    subnet: str = DEFAULT_SUBNET
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    hosts: list[Host] = field(default_factory=list)
    _forwarders: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _bridge: str = ""

    @property
    def root_address(self) -> str:
        return f"{self.subnet}.1"

    @property
    def database_address(self) -> str:
        return f"{self.subnet}.2"

    def open(self) -> Lab:
        probe = subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True).stdout
        if f" {self.root_address}/" in probe:
            raise RuntimeError(f"{self.root_address} is already in use (a leftover test bridge?)")
        self._bridge = f"bt{self.tag}br"
        _ip("link", "add", self._bridge, "type", "bridge")
        _ip("addr", "add", f"{self.root_address}/24", "dev", self._bridge)
        _ip("addr", "add", f"{self.database_address}/24", "dev", self._bridge)
        _ip("link", "set", self._bridge, "up")
        return self

    def add_host(self, role: str, octet: int) -> Host:
        index = len(self.hosts)
        host = Host(f"bt{self.tag}-{role}", f"{self.subnet}.{octet}", f"bt{self.tag}v{index}")
        inner = f"bt{self.tag}i{index}"
        _ip("netns", "add", host.name)
        self.hosts.append(host)
        _ip("link", "add", host.root_veth, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", host.name)
        _ip("link", "set", host.root_veth, "master", self._bridge, "up")
        _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", inner)
        _ip("-n", host.name, "link", "set", inner, "up")
        _ip("-n", host.name, "link", "set", "lo", "up")
        return host

    def forward_database(self, port: int = 5432, to: str = "127.0.0.1:5432") -> str:
        """A TCP forwarder on the bridge's database address to the local PostgreSQL;
        returns `address:port` for the hosts to use."""
        listen = f"TCP-LISTEN:{port},bind={self.database_address},fork,reuseaddr"
        # Its own process group: socat forks a child per connection, stopped with it.
        self._forwarders.append(subprocess.Popen(
            ["socat", listen, f"TCP:{to}"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        return f"{self.database_address}:{port}"

    def cut(self, host: Host) -> None:
        _ip("link", "set", host.root_veth, "down")

    def heal(self, host: Host) -> None:
        _ip("link", "set", host.root_veth, "up")

    def blackhole(self, host: Host, address: str) -> None:
        _ip("-n", host.name, "route", "add", "blackhole", f"{address}/32")

    def unblackhole(self, host: Host, address: str) -> None:
        _ip("-n", host.name, "route", "del", "blackhole", f"{address}/32")

    def close(self) -> None:
        """Remove everything made (a namespace takes its veth with it); never raises."""
        for proc in self._forwarders:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for host in self.hosts:
            subprocess.run(["ip", "netns", "delete", host.name], capture_output=True)
            subprocess.run(["ip", "link", "delete", host.root_veth], capture_output=True)
        if self._bridge:
            subprocess.run(["ip", "link", "delete", self._bridge], capture_output=True)
