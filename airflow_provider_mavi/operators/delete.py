"""MaviDeleteAssetOperator: delete an asset (irreversible; nothing is ever deleted implicitly)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.compat import NEVER_EXPIRE
from airflow_provider_mavi.exceptions import MaviNotFoundError
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.operators.base import MaviBaseOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

#: task_state_store key set once the asset is deleted, so a retry does not fail on "Asset not found".
DELETED_STATE_KEY = "mavi_deleted"


class MaviDeleteAssetOperator(MaviBaseOperator):
    """
    Delete a Mavi asset. Returns ``{asset_id, deleted}``.

    A retry after a delete that went through (known from the task state store on Airflow >= 3.3) succeeds;
    otherwise an unknown asset fails the task unless ``missing_ok``.

    :param asset_id: the asset to delete. (templated)
    :param missing_ok: succeed (``deleted: false``) when Mavi does not know the asset.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    template_fields: Sequence[str] = ("asset_id", "mavi_conn_id")

    def __init__(
        self, *, asset_id: str, missing_ok: bool = False, mavi_conn_id: str = "mavi_default", **kwargs: Any
    ) -> None:
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        self.asset_id = asset_id
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> dict[str, Any]:
        """
        Delete the asset.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        store = context.get("task_state_store")
        try:
            self.hook.delete_asset(asset_id)
        except MaviNotFoundError:
            if store is not None and store.get(DELETED_STATE_KEY) == asset_id:
                self.log.info("Mavi asset %s was deleted by an earlier try", asset_id)
                return {"asset_id": asset_id, "deleted": True}
            if self.missing_ok:
                self.log.info("Mavi asset %s does not exist; nothing deleted (missing_ok)", asset_id)
                return {"asset_id": asset_id, "deleted": False}
            raise
        if store is not None:
            store.set(DELETED_STATE_KEY, asset_id, retention=NEVER_EXPIRE)
        self.log.info("Deleted Mavi asset %s", asset_id)
        return {"asset_id": asset_id, "deleted": True}
