"""The asset graph as a reviewed file: a change to an asset's key, group, dependencies or checks
shows up as a diff of asset_graph.json.

After an intended change, record it again with
    .venv/bin/python -m cluster_pipeline_tests.test_asset_graph
"""

import json
from pathlib import Path

from cluster_pipeline.definitions import defs

SNAPSHOT = Path(__file__).with_name("asset_graph.json")


def asset_graph() -> dict:
    graph = defs.resolve_asset_graph()
    nodes = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        nodes[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": node.partitions_def is not None,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
        }
    return nodes


def test_asset_graph_matches_the_reviewed_snapshot():
    assert asset_graph() == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(asset_graph(), indent=1) + "\n", encoding="utf-8")
