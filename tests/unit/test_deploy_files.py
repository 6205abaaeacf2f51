"""template.yaml (AWS SAM) and docker-compose.yml: valid, least-privilege, and running what the tests run.

Docker does not run on these machines, so the compose file is checked
statically against tests/stack.py, which the end-to-end test executes.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest
import yaml

from realtime_uploads.core.s3_client import LIFECYCLE_TAG
from realtime_uploads.processing.config import PROCESSOR_DEFAULTS
from tests import stack
from tests.servers import BIN, ROOT


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub …) as plain values."""


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value.split(".") if suffix == "GetAtt" and isinstance(value, str) else value}


_CfnLoader.add_multi_constructor("!", _construct)


@pytest.fixture(scope="module")
def template():
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@pytest.fixture(scope="module")
def transformed(template):
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        """The translator asks IAM for AWS managed policy ARNs; the template names none (no AWS here)."""

        def load(self):
            return {}

    params = {"BucketName": "my-uploads", "AllowedOrigin": "https://example.com",
              "CallbackUrl": "https://example.com/api/uploads/{id}/callback/"}
    packaged = copy.deepcopy(template)  # as `sam package` leaves it: code uploaded, CodeUri an S3 URI
    packaged["Resources"]["ProcessorFunction"]["Properties"]["CodeUri"] = "s3://artifacts/processor.zip"
    with patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):  # fills AWS::Region; no call is made
        return transform(packaged, params, NoManagedPolicies())


def test_template_passes_cfn_lint():
    result = subprocess.run([str(BIN / "cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_translates_to_a_function_fed_by_sqs_with_partial_batch_failures(transformed):
    resources = transformed["Resources"]
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 1
    assert mappings[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["Handler"] == "realtime_uploads.processing.lambda_handler.handler"


def test_handler_named_by_the_template_exists():
    from realtime_uploads.processing import lambda_handler

    assert callable(lambda_handler.handler)


def test_callback_secret_comes_from_secrets_manager_never_plain_text(template):
    env = template["Resources"]["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    assert "REALTIME_UPLOADS_CALLBACK_SECRET" not in env
    assert env["REALTIME_UPLOADS_CALLBACK_SECRET_ARN"] == {"Ref": "CallbackSecret"}
    assert template["Resources"]["CallbackSecret"]["Type"] == "AWS::SecretsManager::Secret"


def _statements(transformed):
    role = transformed["Resources"]["ProcessorFunctionRole"]  # SAM's role of the function (not the cleanup's)
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def test_function_may_read_only_originals_and_write_only_variants(transformed):
    s3 = [s for s in _statements(transformed)
          if any(str(a).startswith("s3:") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))]
    grants = {tuple(sorted(s["Action"])): s["Resource"]["Fn::Sub"] for s in s3}
    assert grants == {
        ("s3:GetObject", "s3:PutObjectTagging"): "arn:${AWS::Partition}:s3:::${BucketName}/${KeyPrefix}*",
        ("s3:PutObject",): "arn:${AWS::Partition}:s3:::${BucketName}/${VariantPrefix}*",
    }
    assert not [s for s in _statements(transformed) if s.get("Resource") == "*" and "s3" in str(s["Action"])]


def test_bucket_is_private_with_cors_notification_and_unprocessed_expiry(template):
    props = template["Resources"]["UploadsBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"] == ["POST", "GET"]
    [rule] = [r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == "expire-never-processed-uploads"]
    assert rule["TagFilters"] == [{"Key": LIFECYCLE_TAG, "Value": "pending"}]
    [queue] = props["NotificationConfiguration"]["QueueConfigurations"]
    assert queue["Event"] == "s3:ObjectCreated:*"
    params = template["Parameters"]
    assert params["KeyPrefix"]["Default"] == PROCESSOR_DEFAULTS["KEY_PREFIX"]
    assert params["VariantPrefix"]["Default"] == PROCESSOR_DEFAULTS["VARIANT_PREFIX"]
    assert params["MaxSize"]["Default"] == PROCESSOR_DEFAULTS["MAX_SIZE"]
    assert params["AllowedContentTypes"]["Default"].split(",") == list(PROCESSOR_DEFAULTS["ALLOWED_CONTENT_TYPES"])


def test_cleanup_runs_on_a_schedule_only_when_asked_and_may_only_start_its_task(template):
    resources, conditions = template["Resources"], template["Conditions"]
    schedule, role = resources["CleanupSchedule"], resources["CleanupSchedulerRole"]
    assert schedule["Condition"] == role["Condition"] == "HasCleanupTask"
    refs = {c["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for c in conditions["HasCleanupTask"]["Fn::And"]}
    assert refs == {"CleanupClusterArn", "CleanupTaskDefinitionArn", "CleanupSubnets", "CleanupTaskRoleArns"}
    assert all(template["Parameters"][name]["Default"] == "" for name in refs)  # off unless given
    target = schedule["Properties"]["Target"]
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "CleanupTaskDefinitionArn"}
    [policy] = role["Properties"]["Policies"]
    actions = {s["Action"] for s in policy["PolicyDocument"]["Statement"]}
    assert actions == {"ecs:RunTask", "iam:PassRole"}
    run = next(s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "ecs:RunTask")
    assert run["Resource"] == {"Ref": "CleanupTaskDefinitionArn"}
    passing = next(s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "iam:PassRole")
    assert passing["Resource"] == {"Fn::Split": [",", {"Ref": "CleanupTaskRoleArns"}]}  # its task's roles only


def test_lambda_build_packages_the_processor_pillow_and_pi_heif_without_django(tmp_path):
    subprocess.run(["make", "-s", "build-ProcessorFunction", f"ARTIFACTS_DIR={tmp_path}", "LAMBDA_PIP_PLATFORM=",
                    f"PYTHON={sys.executable}"], cwd=ROOT, check=True)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"realtime_uploads", "PIL", "pi_heif"} <= names
    assert not {"django", "rest_framework", "channels", "tests", "pillow_heif"} & names
    assert (tmp_path / "realtime_uploads/processing/lambda_handler.py").exists()
    # Only the Django-free parts: the core both sides share and the processor (tests/unit/test_layout.py keeps them so).
    assert sorted(p.name for p in (tmp_path / "realtime_uploads").iterdir()) == ["__init__.py", "core", "processing"]
    assert not list((tmp_path / "realtime_uploads").rglob("__pycache__"))
    # AWS Lambda allows 250 MB unzipped (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)
    size = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert size < 100 * 1024 * 1024, f"the Lambda package is {size / 2**20:.0f} MB"
    # The package alone (no site-packages: -S) turns an iPhone HEIC into AVIF and JPEG variants.
    from tests.images import iphone_heic

    (tmp_path / "photo.heic").write_bytes(iphone_heic())
    script = ("import io, sys; sys.path.insert(0, sys.argv[1]);"
              "from realtime_uploads.core.variants import VariantSpec;"
              "from realtime_uploads.processing.image.render import render_variants;"
              "o, [v] = render_variants(open(sys.argv[2], 'rb'), [VariantSpec('t', 64, 64, ['AVIF', 'JPEG'])],"
              " max_pixels=10**7, allowed_formats=['HEIF']);"
              "print(o.format, o.width, o.height, *[f.format for f in v.files], bool(o.placeholder))")
    result = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path), str(tmp_path / "photo.heic")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["HEIF", "400", "200", "AVIF", "JPEG", "True"]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_has_the_whole_stack(compose):
    assert set(compose) == {"redis", "postgres", "aws", "init", "web", "worker"}
    assert compose["aws"]["image"].startswith("motoserver/moto")


def test_compose_commands_are_the_ones_the_tests_run(compose):
    assert compose["init"]["command"] == stack.init_argv("http://localhost:8000")
    assert compose["worker"]["command"] == stack.WORKER_ARGV
    web_argv = [a.format(host="0.0.0.0", port=8000) for a in stack.WEB_ARGV]  # noqa: S104 - inside the container
    assert " ".join(web_argv) in " ".join(compose["web"]["command"][-1].split())
    assert "manage.py migrate" in compose["web"]["command"][-1]


def test_every_shipped_web_command_has_the_backlog_and_the_heartbeat():
    """make demo, the Dockerfile and compose run exactly the command the end-to-end tests run."""
    import json
    import re

    demo = [a.format(host="127.0.0.1", port="$(PORT)") for a in stack.WEB_ARGV]
    makefile = (ROOT / "Makefile").read_text()
    assert f"$(BIN)/{' '.join(demo)}" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", "")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd == [a.format(host="0.0.0.0", port=8000) for a in stack.WEB_ARGV]  # noqa: S104 - in the container
    assert {"--ping-interval", "--ping-timeout"} <= set(stack.WEB_ARGV) and "backlog=" in stack.WEB_ARGV[2]


@pytest.mark.parametrize(("service", "names"), [("init", stack.INIT_ENV), ("web", stack.WEB_ENV),
                                                ("worker", stack.WORKER_ENV)])
def test_compose_services_set_the_variables_the_tests_set(compose, service, names):
    assert names <= set(compose[service]["environment"])


def test_compose_worker_calls_back_a_host_web_allows(compose):
    from urllib.parse import urlsplit

    host = urlsplit(compose["worker"]["environment"]["REALTIME_UPLOADS_CALLBACK_URL"].replace("{id}", "x")).hostname
    assert host in compose["web"]["environment"]["DJANGO_ALLOWED_HOSTS"].split(",")
    assert compose["worker"]["environment"]["REALTIME_UPLOADS_CALLBACK_SECRET"] == \
        compose["web"]["environment"]["REALTIME_UPLOADS_CALLBACK_SECRET"]


def test_worker_command_is_an_installed_console_script():
    import tomllib

    scripts = tomllib.loads(Path(ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[stack.WORKER_ARGV[0]] == "realtime_uploads.processing.worker:main"
    assert (BIN / stack.WORKER_ARGV[0]).exists()
