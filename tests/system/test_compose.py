"""docker-compose.yaml held against the project, since no Docker engine runs here.

The file is parsed and interpolated the way Compose does (``${VAR:-default}``, ``${VAR:?message}``, ``$$``),
with the values of ``.env.example`` and made-up secrets. Then: every service the stack needs is there; every
command it runs exists (Airflow subcommands through Airflow's own CLI parser, console scripts by starting
them for real and waiting for their health check); the environment variables are the ones the code reads;
the ``mavi_default`` connection built from the environment is what the hook understands; health checks and
``depends_on`` conditions fit together; the image is built from this repository with the pinned versions.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
PACKAGE = ROOT / "airflow_provider_mavi"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
CORE_SERVICES = {"postgres", "redis", "mavi-bridge-db-init", "mavi-bridge", *AIRFLOW_SERVICES}
PROFILED = {"mavi-emulator": ["offline"], "flower": ["flower"]}
ONE_SHOT = {"airflow-init", "mavi-bridge-db-init"}
PROVIDER_IMAGE_SERVICES = AIRFLOW_SERVICES | {"flower", "mavi-bridge", "mavi-emulator"}
SECRET_NAMES = (
    "MAVI_API_KEY",
    "MAVI_BRIDGE_CALLBACK_SECRET",
    "MAVI_BRIDGE_API_TOKEN",
    "MAVI_BRIDGE_DB_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD",
)
# Read by the official image's entrypoint or by the container runtime, not by our code.
IMAGE_VARIABLES = {"DUMB_INIT_SETSID", "HOSTNAME"}

VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


# ------------------------------------------------------------------------------------------ interpolation
def env_example() -> dict[str, str]:
    """The variables of ``.env.example``, in order."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def example_environment() -> dict[str, str]:
    """``.env.example`` with every empty value filled as a user would: made-up secrets of the right shape."""
    values = env_example()
    for name, value in values.items():
        if not value:
            values[name] = f"{name.lower().replace('_', '-')}-0123456789abcdef"
    values["AIRFLOW__CORE__FERNET_KEY"] = "QkFTRTY0X0ZFUk5FVF9LRVlfRk9SX1RFU1RTX09OTFk="
    return values


def interpolate(value: str, env: dict[str, str], *, strict: bool = True) -> str:
    """Interpolate one string the way Compose does.

    :param value: the raw string from the file.
    :param env: the variables (the .env file).
    :param strict: fail on ``${VAR:?message}`` when VAR is unset or empty, like Compose.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        current = env.get(name)
        if operator in (":-", "-"):
            empty = current is None or (operator == ":-" and current == "")
            return argument if empty else str(current)
        if operator in (":?", "?"):
            if strict and (current is None or (operator == ":?" and current == "")):
                raise ValueError(f"{name}: {argument}")
            return current or ""
        return current or ""

    return VARIABLE.sub(replace, value)


def render(node: Any, env: dict[str, str], *, strict: bool = True) -> Any:
    """Interpolate every string of a parsed compose file.

    :param node: a parsed YAML node.
    :param env: the variables.
    :param strict: see :func:`interpolate`.
    """
    if isinstance(node, str):
        return interpolate(node, env, strict=strict)
    if isinstance(node, list):
        return [render(item, env, strict=strict) for item in node]
    if isinstance(node, dict):
        return {key: render(item, env, strict=strict) for key, item in node.items()}
    return node


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """docker-compose.yaml parsed, anchors and merge keys resolved, nothing interpolated."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """docker-compose.yaml as Compose would run it with a .env made from .env.example."""
    return render(raw, example_environment())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services, by name."""
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (Compose accepts a mapping or a list of NAME=value).

    :param service: the service.
    """
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def argv(value: str | list[str] | None) -> list[str]:
    """A command or entrypoint as an argument list.

    :param value: the string (split like a shell) or list form.
    """
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------ services
def test_every_service_the_stack_needs_is_there(services: dict[str, dict[str, Any]]) -> None:
    missing = (CORE_SERVICES | set(PROFILED)) - set(services)
    assert not missing, f"services missing from docker-compose.yaml: {sorted(missing)}"
    for name in CORE_SERVICES:
        assert not services[name].get("profiles"), f"{name} must start without a profile"
    for name, profiles in PROFILED.items():
        assert services[name].get("profiles") == profiles, f"{name} must be under the profile {profiles}"


def test_every_variable_is_explained_in_env_example(raw: dict[str, Any]) -> None:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    # $${NAME} is for the container's shell, not Compose: the regex consumes "$$" first and skips it.
    used = {m.group(1) or m.group(4) for m in VARIABLE.finditer(text) if m.group(0) != "$$"}
    documented = env_example()
    assert not used - set(documented), (
        f"used in docker-compose.yaml, not in .env.example: {used - set(documented)}"
    )
    assert not set(documented) - used, f"in .env.example, never used: {set(documented) - used}"

    # Every variable belongs to a block of variables that a comment explains.
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if not line or line.startswith("#"):
            continue
        above = index - 1
        while above >= 0 and lines[above] and not lines[above].startswith("#"):
            above -= 1
        assert above >= 0, f".env.example: {line.split('=')[0]} is not explained"
        assert lines[above].startswith("#"), f".env.example: {line.split('=')[0]} is not explained"
    secrets = [n for n in documented if re.search(r"(SECRET|TOKEN|PASSWORD|API_KEY|FERNET)", n)]
    assert secrets, "the secrets must be in .env.example"
    for name in secrets:
        assert documented[name] == "", f".env.example must not carry a value for the secret {name}"


def test_missing_secrets_stop_compose_with_a_clear_message(raw: dict[str, Any]) -> None:
    for secret in (
        "MAVI_API_KEY",
        "MAVI_BRIDGE_CALLBACK_SECRET",
        "MAVI_BRIDGE_API_TOKEN",
        "POSTGRES_PASSWORD",
    ):
        env = example_environment()
        env[secret] = ""
        with pytest.raises(ValueError, match=f"{secret}: set {secret} in .env"):
            render(raw, env)


# ------------------------------------------------------------------------------------------ the image
def test_provider_image_is_built_from_this_repository(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name]["image"] for name in PROVIDER_IMAGE_SERVICES}
    assert len(images) == 1, f"one provider image for every Airflow, bridge and emulator service: {images}"
    for name in PROVIDER_IMAGE_SERVICES:
        build = services[name].get("build")
        assert build == {"context": ".", "dockerfile": "Dockerfile"}, f"{name}: build from ./Dockerfile"
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in environment(services[name]), "no pip at container start"

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:3\.3\.2(-python3\.\d+)?$", dockerfile, re.M)
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", dockerfile, re.M)
    assert "--constraint /opt/airflow-provider-mavi/constraints.txt" in dockerfile
    for sources in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    assert readme in dockerfile, "the package build needs the readme named in pyproject.toml"

    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line and not line.startswith("#")]
    for secret_or_bulk in (".env", ".venv", ".git", ".system-test"):
        assert secret_or_bulk in ignored, f".dockerignore must exclude {secret_or_bulk}"
    for needed in ("pyproject.toml", "README.md", "constraints.txt", "airflow_provider_mavi"):
        assert needed not in ignored, f".dockerignore excludes {needed}, which the image needs"


def test_dags_and_scripts_are_mounted_from_the_repository(
    raw: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name in AIRFLOW_SERVICES:
        volumes = services[name].get("volumes", [])
        assert "./dags:/opt/airflow/dags" in volumes, f"{name} must mount ./dags"
    assert sorted(p.name for p in (ROOT / "dags").glob("mavi_*.py")), "the example DAGs are in ./dags"
    script = services["mavi-bridge-db-init"]["volumes"][0].split(":")[0]
    assert (ROOT / script).is_file(), f"{script} is mounted into mavi-bridge-db-init but does not exist"
    declared = set(raw["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: named volume {source} is not declared"


def test_api_server_can_open_the_password_file_airflow_init_writes(
    services: dict[str, dict[str, Any]],
) -> None:
    path = environment(services["airflow-apiserver"])["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    folder = str(Path(path).parent)
    for name in ("airflow-init", "airflow-apiserver"):
        mounts = [v for v in services[name]["volumes"] if v.split(":")[1] == folder]
        assert mounts == ["airflow-auth:" + folder], (
            f"{name}: {folder} on the airflow-auth volume, read-write"
        )
    script = argv(services["airflow-init"]["command"])[1]
    assert path in script, "airflow-init writes the password file the api-server reads"
    assert environment(services["airflow-apiserver"])["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].startswith(
        environment(services["airflow-init"])["AIRFLOW_ADMIN_USERNAME"] + ":"
    ), "the user airflow-init writes a password for is the user the api-server knows"


# ------------------------------------------------------------------------------------------ commands
def airflow_commands(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Every ``airflow ...`` command line of the stack, as the argument list after ``airflow``.

    :param services: the rendered services.
    """
    found: dict[str, list[str]] = {}
    for name, service in services.items():
        env = environment(service)
        if name in PROVIDER_IMAGE_SERVICES and "entrypoint" not in service:
            found[f"{name}: command"] = argv(service["command"])  # the image's entrypoint runs `airflow ...`
        scripts = [" ".join(argv(service.get("command")))]
        test = service.get("healthcheck", {}).get("test", [])
        scripts += [test[1]] if test and test[0] == "CMD-SHELL" else []
        if name == "airflow-init":
            scripts = argv(service["command"])[1:]
        for script in scripts:
            for line in script.splitlines():
                line = re.sub(r"^\s*/entrypoint\s+", "", line)
                if line.startswith("airflow "):
                    words = shlex.split(line)[1:]
                    expanded = [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), "x"), w) for w in words]
                    found[f"{name}: {line.strip()[:60]}"] = expanded
    return found


CHECK_AIRFLOW = r"""
import json, sys
from airflow.cli.cli_parser import get_parser
from airflow.configuration import conf
from airflow.providers.celery.executors.celery_executor import app  # the worker's health check app
request = json.load(sys.stdin)
codes = {}
for label, argv in request["commands"].items():
    try:
        get_parser().parse_args(argv)
        codes[label] = 0
    except SystemExit as exc:
        codes[label] = exc.code
described = conf.configuration_description
options = {
    name: name.split("__")[1].lower() in described
    and name.split("__")[2].lower() in described[name.split("__")[1].lower()]["options"]
    for name in request["options"]
}
print(json.dumps({"codes": codes, "options": options, "celery_app": app.main}))
"""


@pytest.fixture(scope="module")
def airflow_check(
    services: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Ask the installed Airflow (CeleryExecutor configured) about the stack's commands and options."""
    options = sorted(
        {
            key
            for name in AIRFLOW_SERVICES
            for key in environment(services[name])
            if key.startswith("AIRFLOW__")
        }
    )
    # Negative controls: the check must reject a mistyped subcommand and an option Airflow does not have.
    commands = {**airflow_commands(services), CONTROL: ["celery", "wroker"]}
    request = {"commands": commands, "options": [*options, CONTROL_OPTION]}
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-home")),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK_AIRFLOW],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["request"] = request
    return result


CONTROL = "negative control: airflow celery wroker"
CONTROL_OPTION = "AIRFLOW__CELERY__NO_SUCH_OPTION"


def test_the_airflow_check_rejects_what_does_not_exist(airflow_check: dict[str, Any]) -> None:
    assert airflow_check["codes"][CONTROL] == 2, "a mistyped subcommand must be rejected"
    assert airflow_check["options"][CONTROL_OPTION] is False, "an unknown option must be reported"


def test_every_airflow_command_exists(airflow_check: dict[str, Any]) -> None:
    commands = dict(airflow_check["request"]["commands"])
    commands.pop(CONTROL, None)
    for needed in ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker", "celery flower"):
        assert needed.split() in commands.values(), f"no service runs `airflow {needed}`"
    assert ["db", "migrate"] in commands.values(), "airflow-init must migrate the database"
    assert any(c[:2] == ["pools", "set"] and c[2] == "mavi_api" for c in commands.values()), (
        "no mavi_api pool"
    )
    bad = {label: code for label, code in airflow_check["codes"].items() if code != 0 and label != CONTROL}
    assert not bad, f"Airflow's CLI rejects: {bad}"
    assert airflow_check["celery_app"] == "airflow.providers.celery.executors.celery_executor"


def test_airflow_options_exist(airflow_check: dict[str, Any]) -> None:
    options = airflow_check["options"]
    unknown = [name for name, known in options.items() if not known and name != CONTROL_OPTION]
    assert not unknown, f"not options of Airflow 3.3 or its providers: {unknown}"


def test_worker_health_check_uses_the_celery_app(services: dict[str, dict[str, Any]]) -> None:
    check = services["airflow-worker"]["healthcheck"]["test"][1]
    assert check.startswith(
        "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping"
    )
    assert (Path(sys.executable).parent / "celery").exists(), "the celery console script is installed"


def console_script(service: dict[str, Any]) -> tuple[str, list[str]]:
    """The console script a service's entrypoint runs, and its arguments.

    :param service: the service.
    """
    entry = argv(service["entrypoint"])
    assert entry[:2] == ["/usr/bin/dumb-init", "--"], "run under the image's init, like Airflow's services"
    return entry[2], argv(service["command"])


@pytest.mark.parametrize("name", ["mavi-bridge", "mavi-emulator"])
def test_console_scripts_run_with_the_compose_arguments(
    name: str, services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    service = services[name]
    script, args = console_script(service)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert script in scripts, f"{name} runs {script}, which pyproject.toml does not declare"

    # The same arguments, bound to a free loopback port; the health check's URL moved to that port.
    port = free_port()
    compose_port = args[args.index("--port") + 1]
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    env = {**os.environ, **environment(service)}
    if name == "mavi-bridge":
        env["MAVI_BRIDGE_DB_URL"] = f"sqlite:///{tmp_path / 'bridge.sqlite3'}"  # no PostgreSQL service here
    if "--data-dir" in args:
        args[args.index("--data-dir") + 1] = str(tmp_path / "data")
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "curl", "--fail"], f"{name}: health check with curl"
    url = test[3].replace(f"localhost:{compose_port}", f"127.0.0.1:{port}")
    assert url != test[3], f"{name}: the health check must probe the port the service listens on"

    process = subprocess.Popen(
        [str(Path(sys.executable).parent / script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(url, timeout=2).is_success
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(0.3)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert healthy, f"{script} {' '.join(args)} never answered {url}:\n{output[-2000:]}"
    for secret_name in SECRET_NAMES:
        assert example_environment()[secret_name] not in output, f"{script} printed {secret_name}"


# ------------------------------------------------------------------------------------------ environment
def names_read_by(folder: Path, prefix: str) -> set[str]:
    """Environment variable names with a prefix that appear as string literals in a package's code.

    :param folder: the package folder.
    :param prefix: e.g. ``MAVI_BRIDGE_``.
    """
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        names |= set(re.findall(rf"[\"']({prefix}[A-Z0-9_]+)[\"']", path.read_text()))
    return names


def test_bridge_environment_matches_its_settings(services: dict[str, dict[str, Any]]) -> None:
    read = names_read_by(PACKAGE / "bridge", "MAVI_BRIDGE_")
    given = set(environment(services["mavi-bridge"]))
    assert given - read == set(), f"the bridge never reads {given - read}"
    for needed in (
        "MAVI_BRIDGE_DB_URL",
        "MAVI_BRIDGE_CALLBACK_SECRET",
        "MAVI_BRIDGE_API_TOKEN",
        "MAVI_BRIDGE_MAX_BODY",
    ):
        assert needed in given, f"the bridge service must set {needed}"
    url = environment(services["mavi-bridge"])["MAVI_BRIDGE_DB_URL"]
    db_init = environment(services["mavi-bridge-db-init"])
    expected = (
        f"postgresql+psycopg2://{db_init['MAVI_BRIDGE_DB_USER']}:{db_init['MAVI_BRIDGE_DB_PASSWORD']}"
        f"@{db_init['PGHOST']}/{db_init['MAVI_BRIDGE_DB_NAME']}"
    )
    assert url == expected, "the bridge must use the role and database that mavi-bridge-db-init creates"
    assert db_init["PGHOST"] == "postgres"
    assert "postgres" in services


def test_emulator_environment_matches_its_settings(services: dict[str, dict[str, Any]]) -> None:
    read = names_read_by(PACKAGE / "emulator", "MAVI_EMULATOR_")
    given = set(environment(services["mavi-emulator"]))
    assert given, "the emulator service must set its key"
    assert given <= read, f"the emulator never reads {given - read}"


def test_emulator_calls_back_to_the_bridge_and_accepts_the_connection_key(
    services: dict[str, dict[str, Any]],
) -> None:
    args = argv(services["mavi-emulator"]["command"])
    bridge = environment(services["mavi-bridge"])
    bridge_port = argv(services["mavi-bridge"]["command"])[-1]
    webhook = args[args.index("--webhook-url") + 1]
    assert webhook == f"http://mavi-bridge:{bridge_port}/callbacks/{bridge['MAVI_BRIDGE_CALLBACK_SECRET']}"
    connection = json.loads(environment(services["airflow-worker"])["AIRFLOW_CONN_MAVI_DEFAULT"])
    assert environment(services["mavi-emulator"])["MAVI_EMULATOR_API_KEY"] == connection["password"]


def test_airflow_services_set_only_variables_something_reads(services: dict[str, dict[str, Any]]) -> None:
    package_names = names_read_by(PACKAGE, "MAVI_") | names_read_by(ROOT / "dags", "MAVI_")
    for name in AIRFLOW_SERVICES | {"flower"}:
        service = services[name]
        script = " ".join(argv(service.get("command")))
        for key in environment(service):
            if key.startswith(("AIRFLOW__", "AIRFLOW_CONN_")) or key in IMAGE_VARIABLES:
                continue
            used_by_command = f"${{{key}}}" in script or f'os.environ["{key}"]' in script
            assert key in package_names or used_by_command, f"{name}: nothing reads {key}"


def test_mavi_default_connection_is_what_the_hook_reads(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_mavi.get_provider_info import get_provider_info
    from airflow_provider_mavi.hooks.mavi import MaviHook

    env = environment(services["airflow-worker"])
    variable = f"AIRFLOW_CONN_{MaviHook.default_conn_name.upper()}"
    assert variable in env, f"the workers need {variable}"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert environment(services[name]).get(variable) == env[variable], (
            f"{name}: same connection everywhere"
        )
    connection = json.loads(env[variable])
    info = get_provider_info()["connection-types"][0]
    assert connection["conn_type"] == info["connection-type"] == MaviHook.conn_type
    assert set(connection["extra"]) <= set(info["conn-fields"]), "extras the connection form does not know"

    monkeypatch.setenv(variable, env[variable])
    settings = MaviHook().get_settings()
    values = example_environment()
    assert settings.base_url == values["MAVI_BASE_URL"]
    assert settings.api_key == values["MAVI_API_KEY"]
    assert settings.bridge_token == values["MAVI_BRIDGE_API_TOKEN"]
    assert settings.max_requests_per_second == float(values["MAVI_MAX_REQUESTS_PER_SECOND"])
    assert settings.timeout == float(values["MAVI_REQUEST_TIMEOUT"])
    # Every worker and triggerer shares one bucket per endpoint, in the stack's Redis (not Celery's database).
    assert settings.rate_limit_scope == "endpoint"
    assert settings.rate_limit_url == "redis://:@redis:6379/1"
    assert "redis" in services["airflow-worker"]["depends_on"], "the limiter's store must be up first"
    bridge_port = argv(services["mavi-bridge"]["command"])[-1]
    assert settings.bridge_url == f"http://mavi-bridge:{bridge_port}"
    assert values["MAVI_API_KEY"] not in repr(settings), "the key must not show in the settings' repr"


def test_components_reach_each_other_where_they_listen(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["airflow-worker"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert "8080" in services["airflow-apiserver"]["healthcheck"]["test"][3]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:@redis:6379/")
    assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true", "the scheduler's health check needs it"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


# ------------------------------------------------------------------------------------------ dependencies
def test_health_checks_and_dependencies_are_in_order(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, f"{name} needs a health check"
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on with conditions"
        for target, rule in depends.items():
            assert target in services, f"{name} depends on an unknown service {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], (
                    f"{name} waits for {target}'s health, it has no check"
                )
            else:
                assert condition == "service_completed_successfully", f"{name}: {condition}"
                assert target in ONE_SHOT, f"{name} waits for {target} to finish: not a one-shot service"
                assert services[target].get("restart") == "no", f"{target} must not restart"
            if not service.get("profiles"):
                assert not services[target].get("profiles"), f"{name} would wait for a profiled {target}"
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no"

    def waits_for(name: str, target: str, condition: str) -> bool:
        return services[name].get("depends_on", {}).get(target, {}).get("condition") == condition

    for name in AIRFLOW_SERVICES - {"airflow-init"} | {"flower"}:
        assert waits_for(name, "airflow-init", "service_completed_successfully"), (
            f"{name} before the migration"
        )
        assert waits_for(name, "postgres", "service_healthy")
        assert waits_for(name, "redis", "service_healthy")
    for name in ("airflow-worker", "airflow-triggerer"):
        assert waits_for(name, "airflow-apiserver", "service_healthy"), f"{name} needs the execution API"
        assert waits_for(name, "mavi-bridge", "service_healthy"), f"{name} reads callbacks from the bridge"
    assert waits_for("mavi-bridge", "mavi-bridge-db-init", "service_completed_successfully")
    assert waits_for("mavi-bridge-db-init", "postgres", "service_healthy")
    assert waits_for("airflow-init", "postgres", "service_healthy")
    assert waits_for("mavi-emulator", "mavi-bridge", "service_healthy")

    # No cycle: every service can be started once what it waits for has.
    started: set[str] = set()
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on", {})) <= started]
        assert ready, f"dependency cycle among {sorted(pending)}"
        for name in ready:
            started.add(name)
            del pending[name]


def test_only_loopback_ports_are_published(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
