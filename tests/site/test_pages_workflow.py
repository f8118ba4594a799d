"""The GitHub Pages workflow: built on every push to main with the official Pages actions, in the right order."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def _load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _uses(steps: list[dict[str, Any]]) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps if "uses" in s]


def test_runs_on_every_push_to_main_with_pages_permissions() -> None:
    wf = _load()
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_build_job_builds_strictly_with_the_repository_addresses_then_uploads() -> None:
    steps = _load()["jobs"]["build"]["steps"]
    uses = _uses(steps)
    assert uses == ["actions/checkout", "actions/setup-python", "actions/configure-pages",
                    "actions/upload-pages-artifact"]
    assert steps[0]["with"]["fetch-depth"] == 0, "added dates need the whole history"
    build = next(s for s in steps if "mkdocs build" in s.get("run", ""))
    assert "--strict" in build["run"] and "--site-dir public" in build["run"]
    assert {"VPEFT_REPO_URL", "VPEFT_SITE_URL"} <= set(build["env"])
    assert "steps.pages.outputs.base_url" in build["env"]["VPEFT_SITE_URL"]
    order = [i for i, s in enumerate(steps)
             if "mkdocs build" in s.get("run", "") or "upload-pages" in s.get("uses", "")]
    assert order == sorted(order) and len(order) == 2
    assert next(s for s in steps if "upload-pages" in s.get("uses", ""))["with"]["path"] == "public"


def test_deploy_job_deploys_the_artifact_after_the_build() -> None:
    deploy = _load()["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert _uses(deploy["steps"]) == ["actions/deploy-pages"]
    assert deploy["environment"]["name"] == "github-pages"


def test_the_addresses_are_read_from_the_environment_in_one_place() -> None:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "repo_url: !ENV [VPEFT_REPO_URL, null]" in text
    assert "site_url: !ENV [VPEFT_SITE_URL, null]" in text
