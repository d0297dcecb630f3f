"""The OpenLineage side of :mod:`.lineage`: imported only by ``get_openlineage_facets_on_complete``, i.e. only
when the OpenLineage provider (the ``[openlineage]`` extra) is installed and asks.

``MaviRunFacet`` follows the provider's custom-facet convention (an ``attrs`` class deriving ``RunFacet``,
camelCase fields); its JSON schema ships beside this module as ``MaviRunFacet.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.openlineage.facet import Dataset
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define, field
from openlineage.client.facet_v2 import RunFacet

if TYPE_CHECKING:
    from airflow_provider_mavi.operators.lineage import TaskLineage

__all__ = ["FACET_NAME", "MaviRunFacet", "operator_lineage"]

#: The key of the facet in a run's ``facets``.
FACET_NAME = "mavi"


@define
class MaviRunFacet(RunFacet):
    """What a Mavi task did at Mavi: the job, the assets read and made, and the price (camelCase fields, as
    OpenLineage's are).

    :param jobId: the Mavi job id (job operators), else None.
    :param jobKind: the job's kind (``extract_frames``, ``transcribe_video``...), else None.
    :param inputAssetIds: the Mavi assets read.
    :param outputAssetIds: the Mavi assets made.
    :param costUsd: what the task cost in US dollars from Mavi's published prices; None when unknown (the
        emitted facet then has no ``costUsd``, as OpenLineage leaves out None fields).
    """

    jobId: str | None = field(default=None)
    jobKind: str | None = field(default=None)
    inputAssetIds: list[str] = field(factory=list)
    outputAssetIds: list[str] = field(factory=list)
    costUsd: float | None = field(default=None)

    # Ids and prices are not secrets: keep the provider's secrets masker from rewriting them.
    _additional_skip_redact = ["jobId", "jobKind", "inputAssetIds", "outputAssetIds", "costUsd"]


def operator_lineage(lineage: TaskLineage) -> OperatorLineage:
    """The ``OperatorLineage`` of a task: its datasets, and the ``mavi`` run facet.

    :param lineage: what the task read, wrote and cost.
    """
    facet = MaviRunFacet(
        jobId=lineage.job_id,
        jobKind=lineage.job_kind,
        inputAssetIds=list(lineage.input_asset_ids),
        outputAssetIds=list(lineage.output_asset_ids),
        costUsd=lineage.cost_usd,
    )
    return OperatorLineage(
        inputs=[Dataset(namespace=d.namespace, name=d.name) for d in lineage.inputs],
        outputs=[Dataset(namespace=d.namespace, name=d.name) for d in lineage.outputs],
        run_facets={FACET_NAME: facet},
    )
