"""The Dockerfile and compose.yaml, checked as Docker would read them (no docker engine needed): a slim,
non-root image whose processes are real everypenny commands, and a deployment whose long-running services
all have health checks and start only once the schema is migrated."""

import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from typer.testing import CliRunner

from everypenny.entrypoints.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dockerfile():
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def final_stage(dockerfile) -> list[dict]:
    """The instructions after the last FROM: what the running image is."""
    instructions = dockerfile.structure
    last_from = max(i for i, step in enumerate(instructions) if step["instruction"] == "FROM")
    return instructions[last_from:]


def test_the_image_is_slim_and_runs_as_a_user_that_is_not_root(dockerfile):
    stage = final_stage(dockerfile)
    assert stage[0]["value"].startswith("python:") and stage[0]["value"].endswith("-slim")
    users = [step["value"] for step in stage if step["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(step["instruction"] == "HEALTHCHECK" and "/healthz" in step["value"] for step in stage)


def test_the_image_installs_the_locked_versions_from_files_in_the_repository(dockerfile):
    build_steps = " ".join(step["value"] for step in dockerfile.structure if step["instruction"] == "RUN")
    assert "uv export --locked" in build_steps and "--require-hashes" in build_steps
    for step in dockerfile.structure:
        if step["instruction"] == "COPY" and "--from=" not in step["value"]:
            *sources, _destination = step["value"].split()
            assert all((ROOT / source).exists() for source in sources), step["value"]


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(entry["version"] for entry in lock["package"] if entry["name"] == package)


def test_the_image_installs_with_the_uv_the_lock_pins_as_scripts_venv_does(dockerfile):
    """One set of versions: the image, ./scripts/test and .ci/run all install uv.lock with the same uv."""
    build_steps = " ".join(step["value"] for step in dockerfile.structure if step["instruction"] == "RUN")
    assert f'uv=={locked_version("uv")}' in build_steps


def test_the_default_command_serves_the_asgi_app_factory(dockerfile):
    command = dockerfile.cmd
    assert "uvicorn --factory everypenny.entrypoints.web.asgi:app" in command
    from everypenny.entrypoints.web import asgi

    assert callable(asgi.app)


def test_app_nodes_leave_forwarded_headers_to_the_app_in_the_image_as_on_the_benchmark(dockerfile, monkeypatch):
    """edge.client_address reads X-Forwarded-For from EVERYPENNY_TRUSTED_PROXIES only; uvicorn would also believe
    it from 127.0.0.1."""
    from everypenny.simulators import deployment

    started = []
    monkeypatch.setattr(deployment.subprocess, "Popen", lambda command, **options: started.append(command))
    deployment.LocalDeployment("sqlite://", app_processes=1).start_app(0)

    assert "--no-proxy-headers" in dockerfile.cmd
    assert "--no-proxy-headers" in started[0]


def test_app_nodes_bound_headers_and_slow_reads_in_the_image_as_on_the_benchmark(dockerfile, monkeypatch):
    from uvicorn.importer import import_from_string

    from everypenny.entrypoints.web.edge_server import BoundedHttpProtocol
    from everypenny.simulators import deployment

    started = []
    monkeypatch.setattr(deployment.subprocess, "Popen", lambda command, **options: started.append(command))
    deployment.LocalDeployment("sqlite://", app_processes=1).start_app(0)

    assert f"--http {deployment.BOUNDED_HTTP}" in dockerfile.cmd
    assert started[0][started[0].index("--http") + 1] == deployment.BOUNDED_HTTP
    assert import_from_string(deployment.BOUNDED_HTTP) is BoundedHttpProtocol


def test_compose_runs_postgres_a_migration_app_nodes_and_workers_from_one_image(compose):
    services = compose["services"]
    assert set(services) >= {"postgres", "migrate", "app", "worker"}
    assert {services[name]["build"] for name in ("migrate", "app", "worker")} == {"."}
    assert services["worker"]["deploy"]["replicas"] >= 1 and services["app"]["deploy"]["replicas"] >= 1
    for name in ("migrate", "app", "worker"):
        assert services[name]["environment"]["EVERYPENNY_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_every_long_running_service_has_a_health_check_that_compiles(compose):
    for name, service in compose["services"].items():
        if name == "migrate":
            continue
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
        if test[1] == "python":
            compile(test[3], f"{name} healthcheck", "exec")


def test_services_start_in_order_postgres_then_the_migration_then_the_app_and_workers(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("app", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}


@pytest.mark.parametrize("service", ["migrate", "worker"])
def test_the_services_commands_are_everypenny_commands(compose, service):
    command = compose["services"][service]["command"]
    assert command[0] == "everypenny"

    result = CliRunner().invoke(app, [*command[1:], "--help"])

    assert result.exit_code == 0, result.output


def test_a_deployment_of_another_checkout_runs_that_checkout_s_code_and_seed_appeal(tmp_path, monkeypatch):
    """The spike bench's --baseline: an earlier revision's apps and workers, with the protocol its image ran."""
    from everypenny.simulators import deployment

    started = []
    monkeypatch.setattr(deployment.subprocess, "Popen", lambda command, **options: started.append((command, options)))
    older = deployment.LocalDeployment("sqlite://", app_processes=1, source=tmp_path)
    older.start_app(0)
    older.start_worker(0)

    (app, app_options), (_, worker_options) = started
    assert app[app.index("--http") + 1] == "httptools"  # no bounded protocol in that checkout
    assert app_options["cwd"] == worker_options["cwd"] == tmp_path
    assert app_options["env"]["PYTHONPATH"] == worker_options["env"]["PYTHONPATH"] == str(tmp_path / "src")
