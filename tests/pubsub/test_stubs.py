"""The checked-in gRPC modules are what grpcio-tools makes of eventbus.proto today."""

from __future__ import annotations

from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO = "pubsub_api/eventbus.proto"
GENERATED = ("eventbus_pb2.py", "eventbus_pb2.pyi", "eventbus_pb2_grpc.py")


def test_checked_in_stubs_match_the_proto(tmp_path: Path) -> None:
    code = protoc.main(
        [
            "protoc",
            f"-I{ROOT}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            str(ROOT / PROTO),
        ]
    )

    assert code == 0
    for name in GENERATED:
        fresh = (tmp_path / "pubsub_api" / name).read_text()
        assert fresh == (ROOT / "pubsub_api" / name).read_text(), (
            f"{name} is stale: regenerate as {PROTO} says"
        )


def test_stubs_name_salesforce_s_method_paths() -> None:
    from pubsub_api import eventbus_pb2

    service = eventbus_pb2.DESCRIPTOR.services_by_name["PubSub"]

    assert service.full_name == "eventbus.v1.PubSub"
    assert sorted(m.name for m in service.methods) == ["GetSchema", "GetTopic", "Subscribe"]
    fetch = eventbus_pb2.FetchRequest.DESCRIPTOR.fields_by_name
    assert {n: f.number for n, f in fetch.items()} == {
        "topic_name": 1,
        "replay_preset": 2,
        "replay_id": 3,
        "num_requested": 4,
        "auth_refresh": 5,
    }
