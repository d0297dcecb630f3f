"""Object storage for real: moto's S3 server (a subprocess on loopback, ``s3_server`` in tests/conftest.py)
reached through the Amazon provider's ``ObjectStoragePath`` support and an ``aws_default`` connection whose
``endpoint_url`` points at it. Each test gets a fresh bucket.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Bucket:
    """A fresh bucket of the moto server, reached as ``s3://aws_default@<name>/...``.

    :param name: the bucket.
    :param client: a boto3 client of the server.
    """

    name: str
    client: Any

    def url(self, key: str = "") -> str:
        """The ``ObjectStoragePath`` URL of ``key`` through the ``aws_default`` connection."""
        return f"s3://aws_default@{self.name}/{key}"

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` at ``key``; return its URL."""
        self.client.put_object(Bucket=self.name, Key=key, Body=data)
        return self.url(key)

    def get(self, key: str) -> bytes:
        """The bytes stored at ``key``."""
        body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def snapshot(self, prefix: str = "") -> dict[str, str]:
        """``{key: sha256}`` of everything under ``prefix``."""
        return {key: hashlib.sha256(self.get(key)).hexdigest() for key in self.list_keys(prefix)}

    def bucket_names(self) -> set[str]:
        """Every bucket of the server."""
        return {bucket["Name"] for bucket in self.client.list_buckets()["Buckets"]}


@pytest.fixture
def s3(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """``aws_default`` pointing at the moto server, and a fresh bucket in it."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", s3_server.connection())
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = s3_server.client()
    name = f"mavi-{secrets.token_hex(5)}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client)
