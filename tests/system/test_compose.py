"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The file must be valid Compose (the Compose Specification's JSON schema, vendored under
tests/data/compose-spec; and `docker-compose config` where the tool is installed), and
everything it names must exist in the project: each `onething` command and option, each
variable our processes read, each port they listen on, every search attribute and every
department queue. Image tags must be the Temporal versions the suite itself runs.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from domain.catalog_loading import load_seed_catalog
from onething.devserver import executable
from onething.settings import SettingsError, load_settings
from onething.temporal import search_attribute_flags
from starter.codec_endpoint import CODEC_PREFIX, DEFAULT_UI_ORIGINS
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"
# What `.env` would give `docker compose`; the file requires POSTGRES_PASSWORD.
COMPOSE_ENV = {"POSTGRES_PASSWORD": "compose-test-password"}
# SQL visibility (PostgreSQL): custom search attributes per namespace and type.
SQL_VISIBILITY_LIMITS = {"Keyword": 10, "KeywordList": 3, "Datetime": 3, "Bool": 3, "Int": 3}
# The packages whose code the image's processes run (their env vars and ports count).
SOURCE_PACKAGES = ("onething", "starter", "store", "activities", "workflows", "domain")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the `<<` merge keys
    assert isinstance(document, dict)
    return document


def interpolate(value: str, env: Mapping[str, str] = COMPOSE_ENV) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, as `docker compose` does it."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"${{{name}}} is required: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value)


def ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image (built from the Dockerfile)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("onething:")
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def container_ports(service: dict[str, Any]) -> set[int]:
    found = {int(str(p)) for p in service.get("expose", [])}
    for port in service.get("ports", []):
        found.add(int(str(port).rsplit(":", 1)[-1].split("/")[0]))
    return found


def host_port(service: dict[str, Any], container: int) -> int:
    for port in service.get("ports", []):
        parts = str(port).split(":")
        if int(parts[-1]) == container:
            return int(parts[-2])
    raise AssertionError(f"container port {container} is not published")


# --------------------------------------------------------------------------- the file


def test_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    problems = [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert not problems, "\n".join(problems)
    # The validator does reject a broken file (a condition Compose does not know).
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_ready"
    assert list(validator.iter_errors(broken))


def _compose_tools() -> Iterator[list[str]]:
    if path := shutil.which("docker-compose"):
        yield [path]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        yield [docker, "compose"]


@pytest.mark.parametrize(
    "tool", list(_compose_tools()) or [None], ids=lambda t: " ".join(t or ["none"])
)
def test_docker_compose_config_accepts_it(tool: list[str] | None) -> None:
    """Debian's docker-compose (or Compose v2) loads the file offline: interpolation,
    merge keys, depends_on targets and every field, as `docker compose up` would."""
    if tool is None:
        pytest.skip("no docker-compose here (Debian: apt-get install docker-compose)")
    env = {**os.environ, **COMPOSE_ENV}
    done = subprocess.run(
        [*tool, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    without = {k: v for k, v in env.items() if k != "POSTGRES_PASSWORD"}
    refused = subprocess.run(
        [*tool, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=without,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


def test_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} needs a healthcheck"
            if rule["condition"] == "service_completed_successfully":
                assert "command" in services[target], f"{target} is not a one-shot"
                assert services[target].get("restart") in ("no", "on-failure")

    def before(name: str, seen: tuple[str, ...] = ()) -> set[str]:
        assert name not in seen, f"dependency cycle: {' -> '.join((*seen, name))}"
        direct = set(services[name].get("depends_on", {}))
        return direct.union(*(before(d, (*seen, name)) for d in direct))

    for name, service in ours(compose).items():
        if name == "migrate":
            assert before(name) == {"postgresql"}
            continue
        # Nothing of ours runs before the store is migrated and the namespace is ready.
        assert {"migrate", "temporal-setup", "temporal", "postgresql"} <= before(name), name
        assert "healthcheck" in service, f"{name} has no healthcheck"
    assert before("temporal") == {"temporal-schema", "postgresql"}


def test_images_are_the_temporal_release_the_suite_runs(compose: dict[str, Any]) -> None:
    done = subprocess.run(
        [str(executable("temporal")), "--version"], capture_output=True, text=True, timeout=30
    )
    match = re.search(r"Server ([\d.]+), UI ([\d.]+)", done.stdout)
    assert match, done.stdout
    server, ui = match.groups()
    images = {name: s.get("image", "") for name, s in compose["services"].items()}
    assert images["temporal"] == f"temporalio/server:{server}"
    assert (
        images["temporal-schema"] == images["temporal-setup"] == f"temporalio/admin-tools:{server}"
    )
    assert images["temporal-ui"] == f"temporalio/ui:{ui}"
    for name, image in images.items():
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag"


# --------------------------------------------------------------------------- what it names


def _leaf(group: Any, args: list[str]) -> tuple[Any, list[str], str]:
    """The (sub)command the arguments name, the rest of the arguments, and its path.

    Duck-typed: typer ships its own copy of click, so no isinstance checks."""
    path = ["onething"]
    command = group
    while hasattr(command, "list_commands") and args and not args[0].startswith("-"):
        context = command.make_context(" ".join(path), [], resilient_parsing=True)
        sub = command.get_command(context, args[0])
        if sub is None:
            known = ", ".join(sorted(command.list_commands(context)))
            raise LookupError(f"`{' '.join(path)} {args[0]}` does not exist (there: {known})")
        path.append(args[0])
        command, args = sub, args[1:]
    return command, args, " ".join(path)


def test_every_onething_command_and_option_exists(compose: dict[str, Any]) -> None:
    """Parsed by the real CLI (starter.cli:app, whatever it mounts today), never invoked."""
    from starter.cli import app

    cli = typer.main.get_command(app)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["onething"] == "starter.cli:main"
    problems = []
    for name, service in ours(compose).items():
        command = service.get("command")
        assert isinstance(command, list) and command, f"{name}: give the command as a list"
        try:
            leaf, rest, path = _leaf(cli, [str(c) for c in command])
            leaf.make_context(path, rest, resilient_parsing=False)
        except Exception as exc:  # click's UsageError (typer's copy) or our LookupError
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            problems.append(f"{name}: `onething {' '.join(command)}`: {message}")
    assert not problems, "\n".join(problems)


def _names_in_source() -> set[str]:
    """Every UPPER_CASE string constant in the project's code: the variables it can read."""
    names: set[str] = set()
    files = [ROOT / "worker.py"]
    for package in SOURCE_PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", value):
                names.add(value)
    return names


def test_every_variable_is_one_our_processes_read(compose: dict[str, Any]) -> None:
    known = _names_in_source()
    for name, service in ours(compose).items():
        unknown = sorted(set(environment(service)) - known)
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"


def test_every_value_passes_the_settings_validation(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from onething.metrics import metrics_bind

    for name, service in ours(compose).items():
        with monkeypatch.context() as m:
            for variable in list(os.environ):
                if variable.startswith(("ONETHING_", "TEMPORAL_")) or variable == "DATABASE_URL":
                    m.delenv(variable)
            env = environment(service)
            for variable, value in env.items():
                m.setenv(variable, value)
            try:
                settings = load_settings()
            except SettingsError as exc:
                raise AssertionError(f"{name}: {exc}") from None
            assert settings.store_url.startswith("postgresql+psycopg://onething:")
            assert settings.temporal_address == "temporal:7233"
            metrics_bind(env)


def test_ports_are_the_ones_the_processes_listen_on(compose: dict[str, Any]) -> None:
    """A port we publish or expose, or a healthcheck calls, is one a variable sets."""
    for name, service in ours(compose).items():
        env = environment(service)
        listening = {int(v) for k, v in env.items() if k.endswith("_PORT")}
        listening |= {int(v.rpartition(":")[2]) for k, v in env.items() if k.endswith("_BIND")}
        assert container_ports(service) <= listening, f"{name} publishes a port it never opens"
        for url_port in re.findall(r"127\.0\.0\.1:(\d+)", json.dumps(service.get("healthcheck"))):
            assert int(url_port) in listening, f"{name}'s healthcheck calls port {url_port}"


def test_the_web_ui_decodes_through_the_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api, ui = services["api"], services["temporal-ui"]
    api_port = int(environment(api)["ONETHING_API_PORT"])
    endpoint = environment(ui)["TEMPORAL_CODEC_ENDPOINT"]
    assert endpoint == f"http://localhost:{host_port(api, api_port)}{CODEC_PREFIX}"
    assert endpoint.startswith(environment(api)["ONETHING_API_PUBLIC_URL"])
    # The browser calls the codec from the UI's origin: the API's CORS must allow it.
    assert f"http://localhost:{host_port(ui, 8080)}" in DEFAULT_UI_ORIGINS
    assert environment(ui)["TEMPORAL_DEFAULT_NAMESPACE"] == environment(api)["TEMPORAL_NAMESPACE"]


def test_search_attributes_are_ours_and_fit_sql_visibility(compose: dict[str, Any]) -> None:
    setup = environment(compose["services"]["temporal-setup"])
    registered = setup["ONETHING_SEARCH_ATTRIBUTES"].split()
    assert registered == search_attribute_flags()[1::2]
    assert (
        setup["TEMPORAL_NAMESPACE"] == environment(compose["services"]["api"])["TEMPORAL_NAMESPACE"]
    )
    per_type: dict[str, int] = {}
    for pair in registered:
        kind = pair.split("=", 1)[1]
        per_type[kind] = per_type.get(kind, 0) + 1
    for kind, count in per_type.items():
        assert count <= SQL_VISIBILITY_LIMITS[kind], f"too many {kind} attributes for SQL"


async def test_setup_step_registers_the_namespace_and_our_attributes(
    compose: dict[str, Any], dev_env: WorkflowEnvironment
) -> None:
    """deploy/temporal/setup-namespace.sh, as temporal-setup runs it, against the dev server
    (the same `temporal` CLI admin-tools ships): twice, since every `up` runs it again."""
    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update(environment(compose["services"]["temporal-setup"]))
    env.update(
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=namespace,
        PATH=f"{executable('temporal').parent}{os.pathsep}{env.get('PATH', '')}",
    )
    script = ROOT / "deploy" / "temporal" / "setup-namespace.sh"
    for _ in range(2):
        command = ["sh", str(script)]
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stdout + done.stderr
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = dict(listed.custom_attributes)
    for key in sa.ALL:
        assert registered.get(key.name) == key.indexed_value_type, key.name


def test_department_workers_serve_every_department(compose: dict[str, Any]) -> None:
    departments = {item.department for item in load_seed_catalog().items.values()}
    served: list[str] = []
    workflow_workers = 0
    for service in ours(compose).values():
        command = [str(c) for c in service["command"]]
        if command[0] != "worker":
            continue
        if "--departments" in command:
            served += command[command.index("--departments") + 1].split(",")
        else:
            workflow_workers += 1
    assert workflow_workers >= 1
    assert set(served) == departments, f"unserved: {departments - set(served)}"
    assert len(served) == len(set(served)), "a department queue is served by two services"


def test_mounted_files_exist_and_scripts_parse(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    for script in sorted((ROOT / "deploy").rglob("*.sh")):
        done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"
    dynamic = yaml.safe_load((ROOT / "deploy" / "temporal" / "dynamicconfig.yaml").read_text())
    assert all(isinstance(v, list) and "value" in v[0] for v in dynamic.values())


# --------------------------------------------------------------------------- the image


def test_dockerfile_installs_the_whole_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    modules = [f"{m}.py" for m in project["tool"]["setuptools"].get("py-modules", [])]
    copied: list[str] = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M):
        *sources, _ = line.split()
        copied += [s.rstrip("/") for s in sources]
    for needed in [*packages, *modules, "pyproject.toml", project["project"]["readme"]]:
        assert needed in copied, f"the image lacks {needed}"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not ignored & set(copied), "a copied path is in .dockerignore"
    assert {".git", ".venv", ".data"} <= ignored
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', dockerfile, re.M)
    assert entrypoint and entrypoint.group(1) in project["project"]["scripts"]
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.M), "run as an unprivileged user"
