"""JSON API: customer, allocate, the upload endpoint (resume, md5, incomplete), purge, quota."""

from __future__ import annotations

import threading

import pytest
import requests

from cloudsync.jottaserver.testing import JottaServer

from .conftest import Client, md5, xml

A = "/jfs/Jotta/Archive"


def test_customer_document(client: Client) -> None:
    c = client.get_api("account/v1/customer").json()
    for key in ("username", "email", "name", "country_code", "language_code",
                "customer_group_code", "brand_code", "account_type", "subscription_type", "usage",
                "quota", "business_usage", "business_quota", "write_locked", "read_locked",
                "locked_cause", "web_hash", "android_hash", "ios_hash"):
        assert key in c
    assert c["username"] == client.srv.username != client.srv.login_name
    assert c["quota"] == -1


def test_allocate_upload_and_response_fields(client: Client) -> None:
    data = b"hello world"
    alloc = client.allocate(f"{A}/dir/hello.txt", data)
    assert set(alloc) == {"name", "path", "state", "upload_id", "upload_url", "bytes", "resume_pos"}
    assert alloc["state"] == "INCOMPLETE" and alloc["resume_pos"] == 0 and alloc["bytes"] == 11
    assert alloc["upload_url"].startswith(client.srv.base_url + "/")
    # Before the body arrives the file exists with only a latestRevision (invisible to rclone).
    entry = xml(client.get("Jotta/Archive/dir")).find("files/file")
    assert entry.find("currentRevision") is None
    assert entry.findtext("latestRevision/state") == "INCOMPLETE"
    assert entry.find("latestRevision/size") is None
    r = client.http.post(alloc["upload_url"], data=data,
                         headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"md5", "bytes", "content_id", "path", "modified"}
    assert body["md5"] == md5(data) and body["bytes"] == 11
    assert body["modified"] == 1709539750000
    f = xml(client.get("Jotta/Archive/dir/hello.txt"))
    assert f.findtext("currentRevision/state") == "COMPLETED" and f.find("latestRevision") is None
    assert client.srv.state.read("Jotta/Archive/dir/hello.txt") == data


def test_allocate_dedupes_by_md5_and_updates_times(client: Client) -> None:
    data = b"dedupe me"
    client.upload(f"{A}/one.txt", data)
    again = client.allocate(f"{A}/one.txt", data, modified="2025-01-01T00:00:00Z")
    assert again["state"] == "COMPLETED"
    f = xml(client.get("Jotta/Archive/one.txt"))
    assert f.findtext("currentRevision/number") == "1"
    assert f.findtext("currentRevision/modified") == "2025-01-01-T00:00:00Z"
    other = client.allocate(f"{A}/elsewhere/two.txt", data)
    assert other["state"] == "COMPLETED"
    assert client.get("Jotta/Archive/elsewhere/two.txt", params={"mode": "bin"}).content == data


def test_empty_file_completes_at_allocate(client: Client) -> None:
    assert client.allocate(f"{A}/empty", b"")["state"] == "COMPLETED"
    assert client.get("Jotta/Archive/empty", params={"mode": "bin"}).content == b""


def test_allocate_path_variants_and_time_formats(client: Client) -> None:
    r = client.post_api("files/v1/allocate", json={
        "bytes": 1, "md5": md5(b"r"), "path": "Archive/rel/r.txt", "created": 1709539750000,
        "modified": 1709539751000})
    assert r.status_code == 200
    client.http.post(r.json()["upload_url"], data=b"r")
    f = xml(client.get("Jotta/Archive/rel/r.txt"))
    assert f.findtext("currentRevision/created") == "2024-03-04-T08:09:10Z"
    assert f.findtext("currentRevision/modified") == "2024-03-04-T08:09:11Z"
    r = client.post_api("files/v1/allocate", json={"bytes": 1, "md5": md5(b"o"),
                                                   "path": f"{A}/offset.txt",
                                                   "modified": "2024-03-04T09:09:10+01:00"})
    client.http.post(r.json()["upload_url"], data=b"o")
    assert xml(client.get("Jotta/Archive/offset.txt")).findtext("currentRevision/modified") == (
        "2024-03-04-T08:09:10Z")


@pytest.mark.parametrize("body,status", [
    ({"bytes": 1, "md5": "zz", "path": f"{A}/x"}, 400),
    ({"bytes": -1, "md5": md5(b""), "path": f"{A}/x"}, 400),
    ({"md5": md5(b""), "path": f"{A}/x"}, 400),
    ({"bytes": 1, "md5": md5(b"1"), "path": "/jfs/NoDevice/Archive/x"}, 404),
    ({"bytes": 1, "md5": md5(b"1"), "path": "/jfs/Jotta/NoMount/x"}, 404),
    ({"bytes": 1, "md5": md5(b"1"), "path": "/jfs/Jotta/Trash/x"}, 400),
    ({"bytes": 1, "md5": md5(b"1"), "path": f"{A}/x", "modified": "yesterday"}, 400),
])
def test_allocate_bad_input(client: Client, body: dict, status: int) -> None:
    r = client.post_api("files/v1/allocate", json=body)
    assert r.status_code == status
    err = r.json()
    assert err["code"] == status and {"message", "cause", "error_id", "x-id"} <= set(err)


def test_allocate_malformed_json_and_no_auth(client: Client, srv: JottaServer) -> None:
    r = client.post_api("files/v1/allocate", data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = requests.post(srv.api_url + "files/v1/allocate", json={})
    assert r.status_code == 401 and r.json()["error_id"] == "BadCredentialsException"


def test_md5_mismatch_leaves_a_corrupt_revision_and_keeps_the_old_one(client: Client) -> None:
    client.upload(f"{A}/c.txt", b"good")
    alloc = client.allocate(f"{A}/c.txt", b"new!")
    r = client.http.post(alloc["upload_url"], data=b"bad!")
    assert r.status_code == 400 and r.json()["error_id"] == "CorruptUploadOpenApiException"
    f = xml(client.get("Jotta/Archive/c.txt"))
    assert f.findtext("currentRevision/md5") == md5(b"good")
    assert f.findtext("latestRevision/state") == "CORRUPT"
    assert client.get("Jotta/Archive/c.txt", params={"mode": "bin"}).content == b"good"
    # The finished (corrupt) upload cannot be continued; a new allocate starts over.
    assert client.http.post(alloc["upload_url"], data=b"new!").status_code == 404
    client.upload(f"{A}/c.txt", b"new!")
    assert client.get("Jotta/Archive/c.txt", params={"mode": "bin"}).content == b"new!"


def test_short_body_is_420_and_resumable_with_range(client: Client) -> None:
    data = bytes(range(200)) * 50
    alloc = client.allocate(f"{A}/big.bin", data)
    r = client.http.post(alloc["upload_url"], data=data[:3000])
    assert r.status_code == 420 and r.json()["error_id"] == "IncompleteUploadOpenApiException"
    f = xml(client.get("Jotta/Archive/big.bin"))
    assert f.findtext("latestRevision/state") == "INCOMPLETE"
    assert f.findtext("latestRevision/size") == "3000"  # bytes received so far, when fetched
    again = client.allocate(f"{A}/big.bin", data)
    assert again["state"] == "INCOMPLETE" and again["resume_pos"] == 3000
    assert again["upload_url"] == alloc["upload_url"]
    r = client.http.post(again["upload_url"], data=data[3000:],
                         headers={"Range": f"bytes=3000-{len(data) - 1}"})
    assert r.status_code == 201
    assert client.get("Jotta/Archive/big.bin", params={"mode": "bin"}).content == data


def test_resume_past_stored_bytes_is_416(client: Client) -> None:
    alloc = client.allocate(f"{A}/r.bin", b"0123456789")
    r = client.http.post(alloc["upload_url"], data=b"56789", headers={"Range": "bytes=5-9"})
    assert r.status_code == 416


def test_connection_reset_mid_upload_leaves_incomplete_then_resumes(client: Client) -> None:
    data = b"z" * 200_000 + b"end"
    client.srv.add_fault(r"^/files/v1/upload/", "reset", count=1)
    alloc = client.allocate(f"{A}/reset.bin", data)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.http.post(alloc["upload_url"], data=data)
    info = client.srv.state.file("Jotta/Archive/reset.bin")
    assert info is not None and info.size is None
    assert info.revisions[0].state == "INCOMPLETE"
    again = client.allocate(f"{A}/reset.bin", data)
    assert 0 < again["resume_pos"] < len(data)
    pos = again["resume_pos"]
    r = client.http.post(again["upload_url"], data=data[pos:],
                         headers={"Range": f"bytes={pos}-{len(data) - 1}"})
    assert r.status_code == 201
    assert client.srv.state.read("Jotta/Archive/reset.bin") == data


def test_chunked_request_body_upload(client: Client) -> None:
    data = b"chunky" * 100_000
    alloc = client.allocate(f"{A}/chunked.bin", data)

    def gen():
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    r = client.http.post(alloc["upload_url"], data=gen())
    assert r.status_code == 201
    assert client.srv.state.read("Jotta/Archive/chunked.bin") == data


def test_revisions_accumulate_and_are_capped(client: Client) -> None:
    for i in range(7):
        client.upload(f"{A}/rev.txt", f"version {i}".encode())
    f = xml(client.get("Jotta/Archive/rev.txt"))
    assert f.findtext("currentRevision/number") == "7"
    assert [r.findtext("number") for r in f.iterfind("revisions/revision")] == ["6", "5", "4", "3"]
    assert [r.number for r in client.srv.state.revisions("Jotta/Archive/rev.txt")] == [7, 6, 5, 4, 3]


def test_reupload_to_trashed_path_restores_only_when_complete(client: Client) -> None:
    client.upload(f"{A}/t.txt", b"first")
    client.post("Jotta/Archive/t.txt", params={"dl": "true"})
    alloc = client.allocate(f"{A}/t.txt", b"second")
    assert client.srv.state.is_trashed("Jotta/Archive/t.txt")
    client.http.post(alloc["upload_url"], data=b"second")
    assert client.srv.state.exists("Jotta/Archive/t.txt")
    assert client.srv.state.read("Jotta/Archive/t.txt") == b"second"


def test_reject_conflicts(client: Client) -> None:
    client.upload(f"{A}/k.txt", b"one")
    r = client.post_api("files/v1/allocate", json={
        "bytes": 3, "md5": md5(b"two"), "path": f"{A}/k.txt", "conflict_handler": "REJECT_CONFLICTS"})
    assert r.status_code == 409 and r.json()["error_id"] == "UniqueFileException"


def test_quota_is_enforced_and_trash_counts() -> None:
    with JottaServer(capacity=10) as srv:
        c = Client(srv)
        c.upload(f"{A}/a", b"12345678")
        c.post("Jotta/Archive/a", params={"dl": "true"})
        user = xml(c.get())
        assert user.findtext("capacity") == "10" and user.findtext("usage") == "8"
        r = c.post_api("files/v1/allocate", json={"bytes": 5, "md5": md5(b"abcde"), "path": f"{A}/b"})
        assert r.status_code == 507
        assert c.post_api("files/v1/purge_trash").json() == {"files": 1, "folders": 0}
        c.upload(f"{A}/b", b"abcde")
        assert c.get_api("account/v1/customer").json()["usage"] == 5


def test_concurrent_uploads_and_listings(client: Client) -> None:
    errors: list[str] = []

    def worker(i: int) -> None:
        c = Client(client.srv)
        try:
            for j in range(5):
                data = f"{i}-{j}".encode() * 100
                c.upload(f"{A}/conc/{i}/{j}.txt", data)
                r = c.get(f"Jotta/Archive/conc/{i}")
                if r.status_code != 200:
                    errors.append(r.text)
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    files = client.srv.state.files()
    assert len([p for p in files if p.startswith("Jotta/Archive/conc/")]) == 40
    assert client.srv.state.read("Jotta/Archive/conc/3/4.txt") == b"3-4" * 100
