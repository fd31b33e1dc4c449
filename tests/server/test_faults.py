"""Fault injection: statuses, 429 + Retry-After, resets, truncation, slowness, count and rate."""

from __future__ import annotations

import pytest
import requests

from cloudsync.jottaserver.faults import Fault

from .conftest import Client, xml

A = "/jfs/Jotta/Archive"


def test_status_fault_by_count_uses_the_route_error_format(client: Client) -> None:
    client.srv.add_fault(r"/files/v1/allocate", "status", status=503, count=1)
    r = client.post_api("files/v1/allocate", json={"bytes": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e",
                                                   "path": f"{A}/x"})
    assert r.status_code == 503 and r.json()["code"] == 503
    client.upload(f"{A}/x", b"")  # the next one goes through
    client.srv.add_fault(r"^/jfs/", "status", status=500, count=2)
    for _ in range(2):
        r = client.get()
        assert r.status_code == 500 and xml(r).findtext("code") == "500"
    assert client.get().status_code == 200
    assert [e.fault for e in client.srv.request_log[-3:]] == ["status", "status", None]


def test_429_carries_retry_after(client: Client) -> None:
    client.srv.add_fault(r"mode=bin", "429", retry_after=7)
    client.upload(f"{A}/f", b"data")
    r = client.get("Jotta/Archive/f", params={"mode": "bin"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert xml(r).findtext("code") == "429"
    assert client.get("Jotta/Archive/f", params={"mode": "bin"}).content == b"data"


def test_reset_mid_download(client: Client) -> None:
    client.upload(f"{A}/big", b"x" * 500_000)
    client.srv.add_fault(r"mode=bin", "reset")
    with pytest.raises(requests.exceptions.RequestException):
        r = client.get("Jotta/Archive/big", params={"mode": "bin"})
        r.raise_for_status()
        assert len(r.content) == 500_000
    assert client.srv.request_log[-1].fault == "reset"
    assert len(client.get("Jotta/Archive/big", params={"mode": "bin"}).content) == 500_000


def test_truncated_body(client: Client) -> None:
    client.upload(f"{A}/t", b"y" * 10_000)
    client.srv.add_fault(r"mode=bin", "truncate")
    with pytest.raises(requests.exceptions.RequestException):
        client.get("Jotta/Archive/t", params={"mode": "bin"})
    client.srv.add_fault(r"mode=liststream", "truncate")
    with pytest.raises(requests.exceptions.RequestException):
        client.get("Jotta/Archive", params={"mode": "liststream"})


def test_slow_fault_still_answers(client: Client) -> None:
    client.srv.add_fault(r"^/jfs/", "slow", delay=0.2)
    assert client.get().status_code == 200
    assert client.srv.request_log[-1].fault == "slow"


def test_rate_and_method_filters(client: Client) -> None:
    never = client.srv.add_fault(r"^/jfs/", "status", rate=0.0)
    for _ in range(5):
        assert client.get().status_code == 200
    assert never.fired == 0
    client.srv.clear_faults()
    always = client.srv.add_fault(r"^/jfs/", "status", status=502, rate=1.0, count=3, method="POST")
    assert client.get().status_code == 200  # GET does not match
    codes = [client.post("Jotta/Archive/d", params={"mkDir": "true"}).status_code for _ in range(4)]
    assert codes == [502, 502, 502, 200]
    assert always.exhausted


def test_clear_faults_and_bad_kind(client: Client) -> None:
    client.srv.add_fault(r".", "status", rate=1.0)
    client.srv.clear_faults()
    assert client.get().status_code == 200
    with pytest.raises(ValueError):
        Fault(".", "explode")


def test_faults_on_token_endpoint(client: Client) -> None:
    client.srv.add_fault(r"/protocol/openid-connect/token", "status", status=503)
    r = requests.post(client.srv.token_url(), data={"grant_type": "refresh_token",
                                                    "refresh_token": client.tokens["refresh_token"],
                                                    "client_id": "jottacli"})
    assert r.status_code == 503 and "error" in r.json()
    # The refresh token was not consumed by the failed attempt.
    r = requests.post(client.srv.token_url(), data={"grant_type": "refresh_token",
                                                    "refresh_token": client.tokens["refresh_token"],
                                                    "client_id": "jottacli"})
    assert r.status_code == 200
