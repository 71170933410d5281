"""The SDK's public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

import assay
from assay import errors, hub


def test_hub_exports() -> None:
    assert sorted(hub.__all__) == sorted(
        [
            "Asset",
            "Branch",
            "Client",
            "Folder",
            "Job",
            "Tag",
            "Version",
            "compare",
            "create_endpoint",
            "create_evaluation",
            "create_folder",
            "create_job",
            "create_pool",
            "create_user",
            "delete_endpoint",
            "delete_evaluation",
            "delete_folder",
            "diff",
            "download_artifact",
            "errors",
            "estimate",
            "get_asset",
            "get_evaluation",
            "get_folder",
            "get_job",
            "get_version",
            "import_dataset",
            "list_endpoints",
            "list_evaluation",
            "list_folders",
            "list_jobs",
            "list_pools",
            "list_presets",
            "list_samples",
            "login",
            "logout",
            "pin",
            "use_client",
            "whoami",
        ]
    )
    for name in hub.__all__:
        assert hasattr(hub, name), name


def test_error_families_share_one_root() -> None:
    assert assay.__all__ == ["__version__"]
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.AssayError)
