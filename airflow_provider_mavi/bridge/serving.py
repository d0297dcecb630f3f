"""uvicorn's server for ``mavi-bridge serve``: it says where it serves only once it does."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    import socket

log = logging.getLogger("airflow_provider_mavi.bridge")


class AnnouncingServer(uvicorn.Server):
    """
    A uvicorn server that logs ``serving on ...`` once started: socket bound, store open, accepting.

    :param config: uvicorn's configuration.
    :param where: what the line shows (``http://host:port``, or the inherited socket).
    """

    def __init__(self, config: uvicorn.Config, where: str) -> None:
        super().__init__(config)
        self.where = where

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """
        Start (the app's lifespan opens the store), then log the serving line.

        :param sockets: the listening sockets, bound by the caller.
        """
        await super().startup(sockets)
        if self.started:
            log.info(
                "mavi-bridge: serving on %s (callbacks at /callbacks/<secret>; see `mavi-bridge url`)",
                self.where,
            )
