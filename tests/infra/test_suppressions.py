"""How the infra check treats checkov's failures: suppressed only when infra/checkov-
suppressions.yaml lists that check for that resource, in that variant, with a reason; an entry
that no longer suppresses anything in a variant it names is itself a failure; and each variant
is checked on a rendering of the template in which `privateNetworking ? A : B` is A or B."""

from __future__ import annotations

from pathlib import Path

from scripts.infra_check import (
    SUPPRESSIONS,
    Suppression,
    apply_suppressions,
    load_suppressions,
    render_variant,
    stale_suppressions,
)


def _report(*failed):
    return {
        "results": {
            "failed_checks": [
                {"check_id": cid, "file_path": path, "resource": res, "check_name": "a policy"}
                for cid, path, res in failed
            ]
        }
    }


def test_a_listed_failure_is_suppressed_and_an_unlisted_one_fails():
    listed = Suppression("CKV_AZURE_1", "why", {"modules/a.bicep::X.a": {"public"}})
    report = _report(
        ("CKV_AZURE_1", "/modules/a.bicep", "X.a"),
        ("CKV_AZURE_1", "/modules/b.bicep", "X.b"),  # same check, a resource not listed
        ("CKV_AZURE_2", "/modules/a.bicep", "X.a"),
    )

    failures, suppressed = apply_suppressions(report, {"CKV_AZURE_1": listed}, "public")

    assert suppressed == 1
    assert failures == [
        "CKV_AZURE_1 modules/b.bicep::X.b (public): a policy",
        "CKV_AZURE_2 modules/a.bicep::X.a (public): a policy",
    ]
    assert stale_suppressions({"CKV_AZURE_1": listed}) == []


def test_a_suppression_holds_only_in_the_variants_it_names():
    public_only = Suppression("CKV_AZURE_35", "why", {"modules/a.bicep::X.a": {"public"}})
    report = _report(("CKV_AZURE_35", "/modules/a.bicep", "X.a"))

    failures, suppressed = apply_suppressions(report, {"CKV_AZURE_35": public_only}, "private")

    assert (failures, suppressed) == (["CKV_AZURE_35 modules/a.bicep::X.a (private): a policy"], 0)


def test_a_suppression_that_suppresses_nothing_in_a_variant_is_reported():
    both = Suppression("CKV_AZURE_3", "why", {"modules/a.bicep::X.a": {"public", "private"}})

    apply_suppressions(
        _report(("CKV_AZURE_3", "/modules/a.bicep", "X.a")), {"CKV_AZURE_3": both}, "public"
    )
    apply_suppressions(_report(), {"CKV_AZURE_3": both}, "private")

    assert stale_suppressions({"CKV_AZURE_3": both}) == [
        "suppression CKV_AZURE_3 modules/a.bicep::X.a (private): nothing to suppress any more; "
        "remove it"
    ]


def test_every_suppression_has_a_reason_names_its_resources_and_their_variants(tmp_path: Path):
    entries, problems = load_suppressions(SUPPRESSIONS)

    assert problems == []
    assert all(len(entry.reason) > 30 for entry in entries.values())
    assert all(variants for entry in entries.values() for variants in entry.resources.values())

    bad = tmp_path / "suppressions.yaml"
    bad.write_text(
        "CKV_AZURE_9:\n  resources: []\n"
        "CKV_AZURE_10:\n  reason: a reason\n  resources:\n    modules/a.bicep::X.a: [staging]\n"
    )
    assert load_suppressions(bad)[1] == [
        "suppression CKV_AZURE_9: no reason given",
        "suppression CKV_AZURE_9: names no resource",
        "suppression CKV_AZURE_10 modules/a.bicep::X.a: variants must be among "
        "['private', 'public'], not ['staging']",
    ]


def test_the_private_variant_needs_fewer_suppressions(infra_check):
    variants = infra_check["counts"]["variants"]

    assert variants["public"]["failed"] == variants["private"]["failed"] == 0
    assert 0 < variants["private"]["suppressed"] < variants["public"]["suppressed"]
    entries, _ = load_suppressions(SUPPRESSIONS)
    public_only = {
        cid for cid, e in entries.items() if all(v == {"public"} for v in e.resources.values())
    }
    assert {"CKV_AZURE_35", "CKV_AZURE_101", "CKV_AZURE_109", "CKV_AZURE_189"} <= public_only


def test_each_variant_is_rendered_with_its_branch(tmp_path: Path):
    source = tmp_path / "infra"
    (source / "modules").mkdir(parents=True)
    (source / "modules" / "a.bicep").write_text(
        "param privateNetworking bool\n"
        "var access = privateNetworking ? 'Disabled' : 'Enabled'\n"
        "var allowed = privateNetworking ? ['10.0.0.1/32'] : ['0.0.0.0/0']\n"
    )

    private, problems = render_variant("private", tmp_path / "out", source)
    public, _ = render_variant("public", tmp_path / "out", source)

    assert problems == []
    assert (
        "var access = 'Disabled'\nvar allowed = ['10.0.0.1/32']"
        in (private / "modules/a.bicep").read_text()
    )
    assert (
        "var access = 'Enabled'\nvar allowed = ['0.0.0.0/0']"
        in (public / "modules/a.bicep").read_text()
    )


def test_a_choice_the_rendering_cannot_make_is_reported(tmp_path: Path):
    source = tmp_path / "infra"
    source.mkdir()
    (source / "main.bicep").write_text(
        "param privateNetworking bool\nvar x = privateNetworking ? concat('a', 'b') : 'c'\n"
    )

    _, problems = render_variant("private", tmp_path / "out", source)

    assert problems == [
        "main.bicep:2: write `privateNetworking ? A : B` with A and B single tokens, or checkov "
        "cannot check the variants apart"
    ]


def test_the_real_template_renders_each_variants_network_access(tmp_path: Path):
    private, problems = render_variant("private", tmp_path)
    public, _ = render_variant("public", tmp_path)

    assert problems == []
    for module in ("host-storage", "cosmos", "keyvault"):
        assert (
            "publicNetworkAccess: 'Disabled'" in (private / f"modules/{module}.bicep").read_text()
        )
        assert "publicNetworkAccess: 'Enabled'" in (public / f"modules/{module}.bicep").read_text()
    assert "privateNetworking ?" not in (private / "main.bicep").read_text()
