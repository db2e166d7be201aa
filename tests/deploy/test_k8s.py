"""deploy/k8s (Kustomize), checked without a cluster: yamllint, each document against the
trimmed JSON schema of its kind kept in deploy/k8s/schemas (unknown fields fail), and the
references between documents (selectors, ports, probes, scalers, the CLI, the settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from yamllint import linter
from yamllint.config import YamlLintConfig

from oms.settings import Settings
from starters.api.app import answers_any_host
from workers.main import QUEUE_NAMES

from deploy_checks import (
    parse_oms_command,
    setting_variables,
    smtp_security_problem,
    unknown_variables,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.temporal.yml"
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
LABEL = "app.kubernetes.io/name"
# What the Secret oms-secrets holds (named in kustomization.yaml and docs/deploy.md).
SECRET_KEYS = {
    "OMS_DATABASE_URL",
    "OMS_CODEC_KEYS",
    "OMS_CODEC_KEY_ID",
    "OMS_CARRIER_WEBHOOK_SECRET",
}


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for name in KUSTOMIZATION["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            docs.append((name, doc))
    return docs


DOCS = _documents()


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == kind}


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return dict(containers[0])


def test_yamllint_passes_on_every_deployment_file() -> None:
    config = YamlLintConfig(file=str(ROOT / "deploy" / "yamllint.yaml"))
    files = [*sorted((ROOT / "deploy").rglob("*.yaml")), COMPOSE]
    assert len(files) > len(KUSTOMIZATION["resources"])
    problems = []
    for path in files:
        for problem in linter.run(path.read_text(), config, str(path)):
            problems.append(f"{path.relative_to(ROOT)}:{problem.line}: {problem.message}")
    assert not problems, "\n".join(problems)


def test_kustomization_lists_every_manifest() -> None:
    _validate(KUSTOMIZATION)
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == manifests


def _validate(doc: dict[str, Any]) -> None:
    path = SCHEMAS / f"{doc['kind']}.json"
    assert path.exists(), f"no schema for kind {doc['kind']} in deploy/k8s/schemas"
    schema = json.loads(path.read_text())
    validator = Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{doc['kind']}/{doc.get('metadata', {}).get('name')} at "
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in errors
    )


@pytest.mark.parametrize(
    "doc", [d for _, d in DOCS], ids=[f"{d['kind']}-{d['metadata']['name']}" for _, d in DOCS]
)
def test_every_document_matches_the_schema_of_its_kind(doc: dict[str, Any]) -> None:
    _validate(doc)


def test_the_schemas_catch_a_typo() -> None:
    """A misspelt field (a probe that Kubernetes would drop silently) fails the check."""
    deployment = json.loads(json.dumps(_of_kind("Deployment")["oms-api"]))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(AssertionError, match="readinesProbe"):
        _validate(deployment)


def test_the_kinds_the_issue_asks_for_are_there() -> None:
    kinds = {doc["kind"] for _, doc in DOCS}
    assert {"Deployment", "Service", "PodDisruptionBudget", "ScaledObject", "Job"} <= kinds
    assert {"oms-api", "oms-codec-server", "oms-worker-workflows", "oms-worker-activities"} <= set(
        _of_kind("Deployment")
    )


def test_every_workload_runs_a_command_the_cli_parses() -> None:
    workloads = {**_of_kind("Deployment"), **_of_kind("Job")}
    for workload in workloads.values():
        parse_oms_command(_container(workload)["args"])
    assert _container(_of_kind("Job")["oms-migrate"])["args"] == ["oms", "db", "--no-seed"]


def test_every_oms_variable_is_a_setting() -> None:
    config = _of_kind("ConfigMap")["oms-config"]["data"]
    assert not unknown_variables(set(config)), unknown_variables(set(config))
    assert {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} <= set(config)
    assert not SECRET_KEYS - setting_variables()
    for name, workload in {**_of_kind("Deployment"), **_of_kind("Job")}.items():
        container = _container(workload)
        variables = {e["name"] for e in container.get("env", [])}
        assert not unknown_variables(variables), f"{name}: {unknown_variables(variables)}"
        sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert sources == {"oms-config", "oms-secrets"}, name


def test_the_adapters_are_placeholders_to_replace_not_the_sandbox() -> None:
    """Every pod gets a payment provider and a carrier adapter of the operator's (until
    replaced, a worker stops naming the placeholder), never the sandbox by default."""
    config = _of_kind("ConfigMap")["oms-config"]["data"]
    settings = Settings(
        _env_file=None,
        payments_provider=config["OMS_PAYMENTS_PROVIDER"],
        carrier_adapter=config["OMS_CARRIER_ADAPTER"],
        allow_sandbox_payments=config["OMS_ALLOW_SANDBOX_PAYMENTS"],
    )
    assert settings.payments_provider.startswith("your_payments.")
    assert settings.carrier_adapter.startswith("your_carrier.")
    assert settings.allow_sandbox_payments is False


def test_the_smtp_port_goes_with_its_security() -> None:
    config = _of_kind("ConfigMap")["oms-config"]["data"]
    for name, workload in {**_of_kind("Deployment"), **_of_kind("Job")}.items():
        own = {e["name"]: e.get("value", "") for e in _container(workload).get("env", [])}
        problem = smtp_security_problem(config | own)
        assert problem is None, f"{name}: {problem}"


def test_the_smtp_check_catches_a_mismatch() -> None:
    assert smtp_security_problem({"OMS_SMTP_PORT": "587"}) is not None
    assert smtp_security_problem({"OMS_SMTP_PORT": "465", "OMS_SMTP_SECURITY": "starttls"})
    assert smtp_security_problem({"OMS_SMTP_PORT": "587", "OMS_SMTP_SECURITY": "starttls"}) is None
    assert smtp_security_problem({"OMS_SMTP_PORT": "8025"}) is None
    assert smtp_security_problem({}) is None


def test_workloads_are_probed_sized_and_unprivileged() -> None:
    for name, deployment in _of_kind("Deployment").items():
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= (
            template["metadata"]["labels"].items()
        ), name
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True, name
        container = _container(deployment)
        ports = {p["name"] for p in container["ports"]} | {
            p["containerPort"] for p in container["ports"]
        }
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] in ports, f"{name} {probe}"
        assert container["resources"]["requests"], name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_the_api_probes_and_service_names_pass_the_host_check() -> None:
    """The kubelet probes on the pod's IP address as Host, which no setting lists: the
    probed paths answer any Host; the Service's cluster DNS names are allowed hosts."""
    config = _of_kind("ConfigMap")["oms-config"]["data"]
    api = _container(_of_kind("Deployment")["oms-api"])
    env = {e["name"]: e["value"] for e in api["env"]}
    settings = Settings(
        _env_file=None,
        api_host=env["OMS_API_HOST"],
        api_url=config["OMS_API_URL"],
        api_allowed_hosts=config["OMS_API_ALLOWED_HOSTS"],
    )
    for probe in ("readinessProbe", "livenessProbe"):
        get = api[probe]["httpGet"]
        host = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}.get("Host")
        assert answers_any_host(get["path"]) or host in settings.allowed_hosts(), probe
    namespace = KUSTOMIZATION["namespace"]
    service = _of_kind("Service")["oms-api"]["metadata"]["name"]
    for name in (service, f"{service}.{namespace}", f"{service}.{namespace}.svc.cluster.local"):
        assert name in settings.allowed_hosts(), name
    assert "10.244.1.7" not in settings.allowed_hosts()
    assert not answers_any_host("/stock") and not answers_any_host("/healthz")


# Workloads that draw the /reports charts with matplotlib, which needs a writable cache
# directory (MPLCONFIGDIR): without one the report page answers 500 on a read-only root.
RENDERS_CHARTS = {"oms-api"}


def _writable_mounts(workload: dict[str, Any]) -> set[str]:
    """The mount paths of the container's emptyDir volumes (writable on a read-only root)."""
    volumes = workload["spec"]["template"]["spec"].get("volumes", [])
    empty = {v["name"] for v in volumes if "emptyDir" in v}
    mounts = _container(workload).get("volumeMounts", [])
    return {m["mountPath"] for m in mounts if m["name"] in empty and not m.get("readOnly")}


def test_a_read_only_root_leaves_a_writable_tmp_where_files_are_written() -> None:
    for name, workload in {**_of_kind("Deployment"), **_of_kind("Job")}.items():
        container = _container(workload)
        if not container["securityContext"].get("readOnlyRootFilesystem"):
            continue
        writable = _writable_mounts(workload)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if name in RENDERS_CHARTS:
            assert "/tmp" in writable, f"{name}: no writable /tmp (emptyDir)"
            assert "MPLCONFIGDIR" in env, f"{name}: matplotlib has no cache directory"
        if "MPLCONFIGDIR" in env:
            assert any(
                env["MPLCONFIGDIR"] == path or env["MPLCONFIGDIR"].startswith(path + "/")
                for path in writable
            ), f"{name}: MPLCONFIGDIR {env['MPLCONFIGDIR']} is not on a writable volume"
    assert set(_of_kind("Deployment")) >= RENDERS_CHARTS


def _matches(selector: dict[str, str], kind: str = "Deployment") -> list[str]:
    return [
        name
        for name, doc in _of_kind(kind).items()
        if selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()
    ]


def test_services_and_disruption_budgets_select_a_deployment() -> None:
    for name, service in _of_kind("Service").items():
        [target] = _matches(service["spec"]["selector"])
        ports = {p["name"] for p in _container(_of_kind("Deployment")[target])["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
    budgets = _of_kind("PodDisruptionBudget")
    for name, budget in budgets.items():
        assert len(_matches(budget["spec"]["selector"]["matchLabels"])) == 1, name
    covered = {m for b in budgets.values() for m in _matches(b["spec"]["selector"]["matchLabels"])}
    assert {"oms-api", "oms-worker-workflows", "oms-worker-activities"} <= covered


def _queues(deployment: dict[str, Any]) -> list[str]:
    args = _container(deployment)["args"]
    assert args[:3] == ["oms", "worker", "--queues"], args
    return list(args[3].split(","))


def test_every_worker_scales_on_the_backlog_of_exactly_its_queues() -> None:
    settings = Settings(task_queue_prefix="")
    config = _of_kind("ConfigMap")["oms-config"]["data"]
    deployments = _of_kind("Deployment")
    workers = {name: d for name, d in deployments.items() if name.startswith("oms-worker-")}
    served = [q for d in workers.values() for q in _queues(d)]
    assert sorted(served) == sorted(QUEUE_NAMES), "each queue in exactly one worker Deployment"
    scaled = _of_kind("ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()} == set(workers)
    for name, scaler in scaled.items():
        worker = workers[scaler["spec"]["scaleTargetRef"]["name"]]
        expected = {
            settings.queue(QUEUE_NAMES[q]): "workflow" if q == "workflows" else "activity"
            for q in _queues(worker)
        }
        triggers = [t["metadata"] for t in scaler["spec"]["triggers"]]
        assert {t["taskQueue"]: t["queueTypes"] for t in triggers} == expected, name
        for trigger in triggers:
            assert trigger["endpointFromEnv"] in config, name
            assert trigger["namespace"] == config["TEMPORAL_NAMESPACE"], name
        assert scaler["spec"]["minReplicaCount"] >= 1, "the workflows worker owns the schedule"
