"""N replicas of the app behind nginx on this machine, without containers.

The same nginx file the compose deployment uses (deploy/nginx/autograd_explorer.conf.template)
in front of N real ``streamlit run app.py`` servers on free local ports: what the browser
test (tests/e2e/test_replicas.py) and the benchmark (bench/replicas.py) run through, so the
sticky cookie and the websocket upgrade are tested here although no container engine runs.

    with cluster(replicas=2) as c:   # c.url is nginx; c.replicas the servers behind it
        ...
    python -m deploy.local_cluster --replicas 2 --port 8080   # until Ctrl+C

nginx is Debian's package (``apt-get install nginx``, as .ci/run does), started as a plain
user process with everything it writes (config, temp files, logs, pid) in a temporary
folder; as root it runs as ``nobody``, never as root.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.server import free_port, serve_process

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx" / "autograd_explorer.conf.template"
COOKIE = "ae_replica"
NGINX_TIMEOUT_S = 20.0

# The top of nginx's configuration, which the official image has as /etc/nginx/nginx.conf
# (it includes the rendered template from conf.d/); here every path is in the temp folder.
MAIN_CONF = """\
worker_processes 1;
error_log {dir}/error.log notice;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {dir}/temp/body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    include {dir}/autograd_explorer.conf;
}}
"""


class NginxMissing(RuntimeError):
    pass


class NginxDidNotStart(RuntimeError):
    pass


def find_nginx() -> Path | None:
    """Debian's nginx (in /usr/sbin, which a plain user's PATH may lack), or $NGINX."""
    named = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    return Path(named) if Path(named).is_file() else None


def missing_nginx_reason() -> str | None:
    """Why the replica tests cannot run here, or None when they can."""
    if find_nginx() is None:
        return ("no nginx (install Debian's with `apt-get install nginx`, as .ci/run does, "
                "or point NGINX at one)")
    return None


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``${NAME}`` replaced, as the nginx image's envsubst does for
    the variables it is given; nginx's own ``$name`` variables are left alone. A name
    without a value is an error, not an empty string."""
    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]
    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)\}", fill, template)


@dataclass(frozen=True)
class Replica:
    url: str
    process: subprocess.Popen

    @property
    def address(self) -> str:
        """``host:port`` as nginx writes it in ``$upstream_addr``."""
        return self.url.removeprefix("http://")


@dataclass(frozen=True)
class Cluster:
    """nginx's URL, the replicas behind it, and nginx's access log."""

    url: str
    replicas: list[Replica]
    nginx: subprocess.Popen
    folder: Path

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def requests(self) -> list[dict[str, str]]:
        """Every request nginx has logged so far (a websocket's when it closed): request,
        status, upstream (the replica's host:port), cookie (the ae_replica cookie it
        carried), key (what it was hashed on), upgrade, agent, seconds, cache (HIT when
        nginx answered a static file from its cache, with no upstream)."""
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines()
                if line.strip()]


def reached_replica(lines: list[dict[str, str]]) -> list[dict[str, str]]:
    """The logged requests a replica answered (not the static files nginx answered from
    its cache): the ones stickiness is about."""
    return [line for line in lines if line["cache"] != "HIT"]


def _as_nobody_when_root(folder: Path) -> dict[str, object]:
    """Popen arguments that drop root: nginx needs no privilege on a high port."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


@contextmanager
def nginx(upstreams: list[str], port: int, host: str = "127.0.0.1") -> Iterator[
        tuple[str, subprocess.Popen, Path]]:
    """nginx on ``host:port`` in front of ``upstreams`` (``host:port`` each): its URL,
    process and folder, once a health check through it answers."""
    binary = find_nginx()
    if binary is None:
        raise NginxMissing(missing_nginx_reason())
    folder = Path(tempfile.mkdtemp(prefix="ae-nginx-"))
    try:
        (folder / "temp").mkdir()
        servers = "\n    ".join(f"server {u};" for u in upstreams)
        (folder / "autograd_explorer.conf").write_text(render(TEMPLATE.read_text(), {
            "AE_UPSTREAM_SERVERS": servers, "AE_LISTEN": f"{host}:{port}",
            "AE_ACCESS_LOG": str(folder / "access.log"),
            "AE_STATIC_CACHE": str(folder / "static_cache")}))
        (folder / "nginx.conf").write_text(MAIN_CONF.format(dir=folder))
        process = subprocess.Popen(
            [str(binary), "-p", str(folder), "-e", str(folder / "error.log"),
             "-c", str(folder / "nginx.conf"), "-g", f"daemon off; pid {folder}/nginx.pid;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **_as_nobody_when_root(folder))
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        try:
            deadline = time.monotonic() + NGINX_TIMEOUT_S
            while not _healthy(url):
                if process.poll() is not None:
                    raise NginxDidNotStart(
                        f"nginx exited with code {process.returncode}: "
                        f"{process.stderr.read().decode(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise NginxDidNotStart(f"no health answer through nginx at {url}")
                time.sleep(0.1)  # polling a process that is starting
            yield url, process, folder
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def cluster(replicas: int = 2, port: int | None = None, host: str = "127.0.0.1",
            timeout_s: float = 120.0) -> Iterator[Cluster]:
    """``replicas`` servers of app.py (each with its program workers) behind nginx on
    ``port`` (a free one if None); everything is stopped on exit."""
    if replicas < 1:
        raise ValueError("at least one replica")
    if find_nginx() is None:  # before starting servers that would only be stopped again
        raise NginxMissing(missing_nginx_reason())
    with ExitStack() as stack:
        started = [Replica(*stack.enter_context(serve_process(timeout_s)))
                   for _ in range(replicas)]
        url, process, folder = stack.enter_context(
            nginx([r.address for r in started], port or free_port(), host))
        yield Cluster(url, started, process, folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local_cluster",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1",
                        help="where nginx listens (0.0.0.0: the whole network)")
    args = parser.parse_args(argv)
    with cluster(args.replicas, args.port, args.host) as c:
        print(f"Autograd Explorer: {c.url} (nginx) in front of "
              + ", ".join(r.url for r in c.replicas))
        print(f"nginx's access log: {c.access_log}. Ctrl+C stops everything.", flush=True)
        try:
            c.nginx.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
