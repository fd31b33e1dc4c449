"""Wire types: recorded payloads from the protocol reference parse into the right values."""

from __future__ import annotations

import base64
import json

import pytest
from cloudsync.backends.jottacloud import _api

from cloudsync.errors import ConfigError, ProtocolError

# Reference A4 (rclone api/types.go, recorded 2018), including the stray "c" after a stub.
FOLDER_A4 = b"""<folder name="test" time="2018-07-24-T20:41:37Z" host="dn-158">
\t<path xml:space="preserve">/12qh1wsht8cssxdtwl15rqh9/Jotta/Sync</path>
\t<abspath xml:space="preserve">/12qh1wsht8cssxdtwl15rqh9/Jotta/Sync</abspath>
\t<folders>
\t\t<folder name="t2"/>c
\t</folders>
\t<files>
\t\t<file name="block.csv" uuid="f6553cd4-1135-48fe-8e6a-bb9565c50ef2">
\t\t\t<currentRevision>
\t\t\t\t<number>1</number>
\t\t\t\t<state>COMPLETED</state>
\t\t\t\t<created>2018-07-05-T15:08:02Z</created>
\t\t\t\t<modified>2018-07-05-T15:08:02Z</modified>
\t\t\t\t<mime>application/octet-stream</mime>
\t\t\t\t<size>30827730</size>
\t\t\t\t<md5>1e8a7b728ab678048df00075c9507158</md5>
\t\t\t\t<updated>2018-07-24-T20:41:10Z</updated>
\t\t\t</currentRevision>
\t\t</file>
\t</files>
\t<metadata first="" max="" total="2" num_folders="1" num_files="1"/>
</folder>"""

# Reference A6 (rclone TestMountpointEmptyModificationTime).
MOUNTPOINT_A6 = b"""<mountPoint time="2018-08-12-T09:58:24Z" host="dn-157">
  <name xml:space="preserve">Sync</name>
  <path xml:space="preserve">/foo/Jotta</path>
  <abspath xml:space="preserve">/foo/Jotta</abspath>
  <size>0</size>
  <modified></modified>
  <device>Jotta</device>
  <user>foo</user>
  <metadata first="" max="" total="0" num_folders="0" num_files="0"/>
</mountPoint>"""

# Reference B3 (jottalib): an INCOMPLETE file with only latestRevision and no size.
MOUNTPOINT_B3 = b"""<?xml version="1.0" encoding="UTF-8"?>

<mountPoint time="2015-09-13-T00:16:31Z" host="dn-097.site-000.jotta.no">
  <name xml:space="preserve">Sync</name>
  <path xml:space="preserve">/havardgulldahl/Jotta</path>
  <abspath xml:space="preserve">/havardgulldahl/Jotta</abspath>
  <size>39851461616</size>
  <modified>2015-07-26-T22:26:54Z</modified>
  <device>Jotta</device>
  <user>havardgulldahl</user>
  <folders>
    <folder name="folder1"/>
  </folders>
  <files>
    <file name="bigfile" uuid="7a36a217-88d5-4804-99df-bbc42eb4a9f2">
      <latestRevision>
        <number>1</number>
        <state>INCOMPLETE</state>
        <created>2015-05-29-T09:02:53Z</created>
        <modified>2015-05-29-T09:02:53Z</modified>
        <mime>application/octet-stream</mime>
        <mstyle>APPLICATION_OCTET_STREAM</mstyle>
        <md5>4d710d3a12699730976216836a5217a8</md5>
        <updated>2015-05-29-T09:02:53Z</updated>
      </latestRevision>
    </file>
    <file name="test.pdf" uuid="1caec763-2ed0-4e88-9d3c-650f3babecc4">
      <currentRevision>
        <number>3</number>
        <state>COMPLETED</state>
        <created>2015-07-26-T22:26:54Z</created>
        <modified>2015-07-26-T22:26:54Z</modified>
        <mime>application/pdf</mime>
        <mstyle>APPLICATION_PDF</mstyle>
        <size>116153</size>
        <md5>138396327a51ea6bf20caa72cf6d6667</md5>
        <updated>2015-07-26-T22:26:54Z</updated>
      </currentRevision>
    </file>
  </files>
  <metadata first="" max="" total="9" num_folders="7" num_files="2"/>
</mountPoint>"""

# Reference F1 (oleid/jotta-restic): trashed sub-folder.
FOLDER_F1 = b"""<folder name="data" time="2018-05-24-T19:50:45Z" host="dn-157">
    <path xml:space="preserve">/oleidinger/Jotta/Sync/test123</path>
    <folders>
        <folder name="config (2018-05-19 (2))" deleted="2018-05-18-T23:47:30Z">
            <abspath xml:space="preserve">/oleidinger/Jotta/Sync/test123</abspath>
        </folder>
        <folder name="data"/>
    </folders>
</folder>"""

USER_B1 = b"""<?xml version="1.0" encoding="UTF-8"?>

<user time="2015-09-12-T23:14:23Z" host="dn-093.site-000.jotta.no">
  <username>havardgulldahl</username>
  <account-type>unlimited</account-type>
  <locked>false</locked>
  <capacity>-1</capacity>
  <max-devices>-1</max-devices>
  <max-mobile-devices>-1</max-mobile-devices>
  <usage>2039672393219</usage>
  <read-locked>false</read-locked>
  <write-locked>false</write-locked>
  <quota-write-locked>false</quota-write-locked>
  <enable-sync>true</enable-sync>
  <enable-foldershare>true</enable-foldershare>
  <devices>
    <device>
      <name xml:space="preserve">My funky iphone</name>
      <type>IPHONE</type>
      <sid>0d015a5b-c2e6-46b3-9df8-00269c35xxxx</sid>
      <size>4280452534</size>
      <modified>2015-01-04-T08:03:09Z</modified>
    </device>
  </devices>
</user>"""

DEVICE_F3 = b"""<device time="2026-07-27-T07:19:53Z">
          <name xml:space="preserve">Jotta</name>
          <user>4smczzcts33jjedcplkqrorq</user>
          <mountPoints>
            <mountPoint>
              <name xml:space="preserve">Archive</name>
              <size></size>
            </mountPoint>
            <mountPoint>
              <name xml:space="preserve">Trash</name>
            </mountPoint>
          </mountPoints>
        </device>"""

ERROR_D1 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n\n<error>\n  <code>401</code>\n  <message>'
    b"org.springframework.security.authentication.AuthenticationCredentialsNotFoundException: "
    b"Token mismatch!</message>\n  <reason>Unauthorized</reason>\n  <cause></cause>\n  "
    b"<hostname></hostname>\n  <x-id>311257289867</x-id>\n</error>\n"
)

LISTSTREAM = (
    b'<?xml version="1.0" encoding="UTF-8"?><liststream><folder><path>/Archive/dir</path></folder>'
    b"<folder><path>/Archive/dir/sub</path></folder><file><path>/Archive/dir/sub</path>"
    b"<filename>a.txt</filename><md5>d41d8cd98f00b204e9800998ecf8427e</md5><size>0</size>"
    b"<modified>2021-11-30T10:21:05.000Z</modified><created>2021-11-30T10:21:05.000Z</created>"
    b"</file><stats><folders>2</folders><files>1</files></stats></liststream>"
)


def test_folder_listing_a4() -> None:
    node = _api.parse_node(FOLDER_A4)
    assert isinstance(node, _api.JottaFolder)
    assert node.kind == "folder" and node.name == "test" and not node.deleted
    assert [f.name for f in node.folders] == ["t2"]
    (f,) = node.files
    assert f.valid and f.name == "block.csv"
    assert f.current is not None
    assert f.current.size == 30827730
    assert f.current.md5 == "1e8a7b728ab678048df00075c9507158"
    assert f.current.modified_ns == _api.parse_jfs_time("2018-07-05-T15:08:02Z")
    assert f.current.modified_ns == 1530803282 * 10**9


def test_mountpoint_with_empty_modified_a6() -> None:
    node = _api.parse_node(MOUNTPOINT_A6)
    assert isinstance(node, _api.JottaFolder)
    assert node.kind == "mountPoint" and node.name == "Sync"
    assert node.modified_ns is None
    assert node.folders == () and node.files == ()


def test_incomplete_file_is_not_valid_b3() -> None:
    node = _api.parse_node(MOUNTPOINT_B3)
    assert isinstance(node, _api.JottaFolder)
    big, pdf = node.files
    assert not big.valid and big.current is None
    assert big.latest is not None and big.latest.state == "INCOMPLETE" and big.latest.size is None
    assert pdf.valid and pdf.current is not None and pdf.current.size == 116153


def test_trashed_subfolder_f1() -> None:
    node = _api.parse_node(FOLDER_F1)
    assert isinstance(node, _api.JottaFolder)
    assert [(f.name, f.deleted) for f in node.folders] == [("config (2018-05-19 (2))", True), ("data", False)]


def test_user_unlimited_b1() -> None:
    node = _api.parse_node(USER_B1)
    assert isinstance(node, _api.JottaUser)
    assert node.unlimited and node.capacity == -1 and node.usage == 2039672393219
    assert node.devices[0].name == "My funky iphone" and node.devices[0].type == "IPHONE"


def test_device_with_trash_and_empty_size_f3() -> None:
    node = _api.parse_node(DEVICE_F3)
    assert isinstance(node, _api.JottaDevice)
    assert [(m.name, m.size) for m in node.mountpoints] == [("Archive", None), ("Trash", None)]


def test_error_document_d1() -> None:
    node = _api.parse_node(ERROR_D1)
    assert isinstance(node, _api.ApiError)
    assert node.code == 401 and node.reason == "Unauthorized"
    assert node.exception == "AuthenticationCredentialsNotFoundException"


def test_liststream_counts_and_items() -> None:
    parser = _api.ListStreamParser()
    items = []
    # Feed in awkward pieces: the parser must not care where chunks split.
    for i in range(0, len(LISTSTREAM), 7):
        items.extend(parser.feed(LISTSTREAM[i : i + 7]))
    parser.close()
    assert items[0] == ("folder", "/Archive/dir")
    assert items[1] == ("folder", "/Archive/dir/sub")
    f = items[2]
    assert isinstance(f, _api.ListStreamFile)
    assert (f.parent, f.name, f.size) == ("/Archive/dir/sub", "a.txt", 0)
    assert f.modified_ns == _api.parse_rfc3339("2021-11-30T10:21:05Z")


def test_liststream_stats_mismatch_fails_whole_listing() -> None:
    bad = LISTSTREAM.replace(b"<files>1</files>", b"<files>2</files>")
    parser = _api.ListStreamParser()
    list(parser.feed(bad))
    with pytest.raises(ProtocolError, match="invalid result"):
        parser.close()


def test_liststream_truncated_fails() -> None:
    parser = _api.ListStreamParser()
    list(parser.feed(LISTSTREAM[:-60]))
    with pytest.raises(ProtocolError):
        parser.close()


def test_html_instead_of_xml_is_protocol_error() -> None:
    page = b"<!DOCTYPE html><html><head><title>Hotel WiFi</title></head><body>Log in</body></html>"
    with pytest.raises(ProtocolError, match="HTML page instead of XML"):
        _api.parse_node(page)
    parser = _api.ListStreamParser()
    with pytest.raises(ProtocolError, match="HTML"):
        list(parser.feed(page))


@pytest.mark.parametrize("body", [b"<folder name='x'><path>", b"not xml at all", b"", b"<folder></file>"])
def test_malformed_xml_is_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        _api.parse_node(body)


def test_unknown_root_element() -> None:
    with pytest.raises(ProtocolError, match="unexpected root element"):
        _api.parse_node(b"<surprise/>")


def test_entities_are_not_resolved(tmp_path: object) -> None:
    # An external entity must never be fetched or expanded (XXE).
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE folder [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<folder name="a"><path>&x;</path></folder>'
    )
    node = _api.parse_node(evil)
    assert isinstance(node, _api.JottaFolder)
    assert "root:" not in (node.path or "")


def test_billion_laughs_is_not_expanded() -> None:
    lol = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY b{i} "{("&b" + str(i - 1) + ";") * 10 if i else "&a;" * 10}">'.encode() for i in range(8)
    ) + b']><folder name="x"><path>&b7;</path></folder>'
    try:
        node = _api.parse_node(lol)
    except ProtocolError:
        return  # refused outright: fine
    assert isinstance(node, _api.JottaFolder)
    assert len(node.path or "") < 1000


def test_times() -> None:
    assert _api.parse_jfs_time("") is None
    assert _api.parse_jfs_time("2015-07-26-T22:26:54Z") == 1437949614 * 10**9
    assert _api.parse_jfs_time("2015-07-26-T23:26:54+0100") == 1437949614 * 10**9
    assert _api.parse_rfc3339("2021-11-30T10:21:05.123Z") == 1638267665123000000
    assert _api.format_jfs_time(1437949614 * 10**9 + 999) == "2015-07-26-T22:26:54Z"
    assert _api.format_rfc3339_seconds(1437949614 * 10**9) == "2015-07-26T22:26:54Z"
    with pytest.raises(ProtocolError):
        _api.parse_jfs_time("yesterday")


def _login_token(**fields: str) -> str:
    raw = json.dumps(fields).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_login_token_decodes_unpadded_base64url() -> None:
    text = _login_token(username="u", realm="jottacloud", well_known_link="https://x/wk", auth_token="s3cr3t")
    tok = _api.decode_login_token(text)
    assert tok.username == "u" and tok.auth_token == "s3cr3t"
    assert "s3cr3t" not in repr(tok)


@pytest.mark.parametrize(
    "text",
    ["", "not-a-token!!", base64.urlsafe_b64encode(b"[1,2]").decode(), _login_token(username="u")],
)
def test_bad_login_tokens_give_one_clear_line(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        _api.decode_login_token(text)
    assert "\n" not in str(info.value)
    assert "login token" in str(info.value)


def test_stored_token_round_trip_and_redaction() -> None:
    tok = _api.StoredToken.from_response(
        _api.TokenResponse.from_json({"access_token": "AAA", "refresh_token": "RRR", "expires_in": 3600, "token_type": "Bearer"})
    )
    again = _api.StoredToken.from_json(tok.to_json())
    assert again.access_token == "AAA" and again.refresh_token == "RRR"
    assert again.expiry is not None and abs((again.expiry - tok.expiry).total_seconds()) < 1  # type: ignore[operator]
    assert again.valid_for(60) and not again.valid_for(4000)
    assert "AAA" not in repr(again) and "RRR" not in repr(again)
    # A Go oauth2.Token with a zero expiry never expires.
    forever = _api.StoredToken.from_json('{"access_token":"a","token_type":"bearer","refresh_token":"r","expiry":"0001-01-01T00:00:00Z"}')
    assert forever.expiry is None and forever.valid_for(10**6)


def test_allocate_json_shape() -> None:
    req = _api.AllocateRequest(11, "2024-03-04T08:09:10Z", "5eb63bbbe01eeed093cb22bb8f5acdc3", "2024-03-04T08:09:10Z", "/jfs/Jotta/Archive/dir/hello.txt")
    assert req.to_json() == (
        b'{"bytes":11,"created":"2024-03-04T08:09:10Z","md5":"5eb63bbbe01eeed093cb22bb8f5acdc3",'
        b'"modified":"2024-03-04T08:09:10Z","path":"/jfs/Jotta/Archive/dir/hello.txt"}'
    )
    done = _api.AllocateResponse.from_json({"name": "x", "path": "/p", "state": "COMPLETED", "bytes": 11, "resume_pos": 0})
    assert done.state == "COMPLETED" and done.upload_url == ""
    with pytest.raises(ProtocolError):
        _api.AllocateResponse.from_json({"state": "INCOMPLETE", "bytes": 11, "resume_pos": 0})
