"""Bad input gets an error document (or a bare 400), never a traceback or a hang."""

from __future__ import annotations

import socket

import requests

from .conftest import Client, xml


def raw(client: Client, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", client.srv.port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            chunks.append(piece)
    return b"".join(chunks)


def auth(client: Client) -> bytes:
    return client.http.headers["Authorization"].encode()


def test_invalid_utf8_in_path_is_a_bare_400(client: Client) -> None:
    r = client.http.get(client.url("Jotta/Archive") + "/%C3")
    assert r.status_code == 400 and b"Traceback" not in r.content


def test_garbage_request_line_and_bad_framing(client: Client) -> None:
    out = raw(client, b"GET /jfs HTTP/1.1 junk\r\n\r\n")
    assert out.startswith(b"HTTP/1.") and b" 400 " in out.split(b"\r\n", 1)[0]
    out = raw(client, b"POST /files/v1/allocate HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth(client)
              + b"\r\nContent-Length: abc\r\n\r\n")
    assert b" 400 " in out.split(b"\r\n", 1)[0] and b"Traceback" not in out
    out = raw(client, b"POST /files/v1/allocate HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth(client)
              + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert b" 400 " in out.split(b"\r\n", 1)[0] and b"Traceback" not in out


def test_truncated_request_body_does_not_hang_the_server(client: Client) -> None:
    out = raw(client, b"POST /files/v1/allocate HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth(client)
              + b"\r\nContent-Length: 100\r\n\r\n{\"a\":")
    assert out == b"" or b"Traceback" not in out
    assert client.get().status_code == 200  # still serving


def test_oversized_json_body_is_refused(client: Client) -> None:
    r = client.post_api("files/v1/allocate", data=b"[" + b"1," * (1 << 20) + b"1]",
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_head_download_has_length_and_no_body(client: Client) -> None:
    client.upload("/jfs/Jotta/Archive/h.bin", b"12345")
    r = client.http.head(client.url("Jotta/Archive/h.bin"), params={"mode": "bin"})
    assert r.status_code == 200 and r.headers["Content-Length"] == "5" and r.content == b""
    assert client.get("Jotta/Archive/h.bin", params={"mode": "bin"}).content == b"12345"


def test_unknown_routes_and_methods(client: Client, srv) -> None:
    r = client.http.get(srv.base_url + "/nope")
    assert r.status_code == 404 and r.json()["code"] == 404
    r = client.http.get(srv.api_url + "files/v1/allocate")
    assert r.status_code == 405
    r = client.http.delete(client.url("Jotta/Archive"))
    assert r.status_code == 405 and xml(r).findtext("code") == "405"
    r = requests.get(srv.token_url())
    assert r.status_code == 405 and "error" in r.json()


def test_keep_alive_survives_errors(client: Client) -> None:
    s = client.http
    for _ in range(3):
        assert s.get(client.url("Jotta/Archive/missing")).status_code == 404
        assert s.get(client.url()).status_code == 200
