"""The JFS XML API: documents, query modes, commands, quirks of §9 and error documents."""

from __future__ import annotations

import requests

from cloudsync.jottaserver.testing import JottaServer

from .conftest import Client, md5, xml

A = "/jfs/Jotta/Archive"


def test_user_device_and_mountpoint_documents(client: Client) -> None:
    user = xml(client.get())
    assert user.tag == "user" and user.findtext("username") == client.user
    assert [d.findtext("name") for d in user.iterfind("devices/device")] == ["Jotta"]
    dev = xml(client.get("Jotta"))
    assert [m.findtext("name") for m in dev.iterfind("mountPoints/mountPoint")] == [
        "Archive", "Shared", "Sync"]
    mp = xml(client.get("Jotta/Archive"))
    assert mp.tag == "mountPoint" and mp.findtext("name") == "Archive"
    assert mp.findtext("path") == f"/{client.user}/Jotta"


def test_create_device_and_mountpoint(client: Client) -> None:
    r = client.post("laptop", params={"type": "WORKSTATION"})
    assert r.status_code == 201 and xml(r).findtext("type") == "WORKSTATION"
    assert client.post("laptop", params={"type": "WORKSTATION"}).status_code == 201
    r = client.post("laptop/backup")
    assert r.status_code == 201 and xml(r).tag == "mountPoint"
    assert client.post("LAPTOP/Backup").status_code == 200  # exists, matched case-insensitively
    client.upload("/jfs/laptop/backup/x.txt", b"x")
    names = [d.findtext("name") for d in xml(client.get()).iterfind("devices/device")]
    assert names == ["Jotta", "laptop"]
    assert xml(client.get("laptop/backup")).find("files/file").get("name") == "x.txt"


def test_mkdir_is_idempotent_creates_parents_and_works_on_the_mountpoint(client: Client) -> None:
    r = client.post("Jotta/Archive/a/b/c", params={"mkDir": "true"})
    assert r.status_code == 200 and xml(r).get("name") == "c"
    assert client.post("Jotta/Archive/a/b/c", params={"mkDir": "true"}).status_code == 200
    assert xml(client.get("Jotta/Archive/a")).find("folders/folder").get("name") == "b"
    r = client.post("Jotta/Archive", params={"mkDir": "true"})
    assert r.status_code == 200 and xml(r).tag == "mountPoint"


def test_folder_listing_order_and_metadata_counts(client: Client) -> None:
    for name in ("b.txt", "A.txt", "c.txt"):
        client.srv.state.put_file(f"Jotta/Archive/d/{name}", name.encode())
    client.srv.state.mkdir("Jotta/Archive/d/zdir")
    client.srv.state.mkdir("Jotta/Archive/d/Adir")
    doc = xml(client.get("Jotta/Archive/d"))
    assert [f.get("name") for f in doc.iterfind("folders/folder")] == ["Adir", "zdir"]
    assert [f.get("name") for f in doc.iterfind("files/file")] == ["A.txt", "b.txt", "c.txt"]
    meta = doc.find("metadata")
    assert (meta.get("total"), meta.get("num_folders"), meta.get("num_files")) == ("5", "2", "3")


def test_stat_a_file_and_kinds(client: Client) -> None:
    client.upload(f"{A}/dir/f.bin", b"abc")
    f = xml(client.get("Jotta/Archive/dir/f.bin"))
    assert f.tag == "file" and f.get("name") == "f.bin" and f.get("uuid")
    assert f.findtext("path") == f"/{client.user}/Jotta/Archive/dir"
    cur = f.find("currentRevision")
    assert [c.tag for c in cur] == ["number", "state", "created", "modified", "mime", "size",
                                   "md5", "updated"]
    assert cur.findtext("md5") == md5(b"abc") and cur.findtext("size") == "3"
    assert cur.findtext("modified") == "2024-03-04-T08:09:10Z"
    assert xml(client.get("Jotta/Archive/dir")).tag == "folder"


def test_names_are_case_insensitive_but_case_preserving(client: Client) -> None:
    client.upload(f"{A}/Hello.TXT", b"one")
    client.upload(f"{A}/hello.txt", b"two")
    doc = xml(client.get("Jotta/Archive"))
    assert [f.get("name") for f in doc.iterfind("files/file")] == ["Hello.TXT"]
    f = xml(client.get("Jotta/Archive/HELLO.txt"))
    assert f.get("name") == "Hello.TXT" and f.findtext("currentRevision/number") == "2"


def test_special_characters_round_trip_and_plus_must_be_encoded(client: Client) -> None:
    name = 'a b+c&d#e?f"g*h:i<j>k|l ünï 日本'
    alloc = client.upload(f"{A}/{name}", b"data")
    assert alloc["name"] == name
    quoted = requests.utils.quote(name, safe="")
    doc = xml(client.http.get(f"{client.url('Jotta/Archive')}/{quoted}"))
    assert doc.get("name") == name
    bin_ = client.http.get(f"{client.url('Jotta/Archive')}/{quoted}", params={"mode": "bin"})
    assert bin_.content == b"data"


def test_restricted_names_are_answered_like_the_service(client: Client) -> None:
    long = "x" * 256
    r = client.post(f"Jotta/Archive/{long}", params={"mkDir": "true"})
    assert r.status_code == 400 and "may not be longer than 255 characters" in r.text
    assert xml(r).findtext("code") == "400"
    ok = client.post("Jotta/Archive/" + "y" * 255, params={"mkDir": "true"})
    assert ok.status_code == 200
    # A name that still looks percent-encoded after decoding: a bare 400 without XML.
    r = client.http.post(client.url("Jotta/Archive") + "/a%2520b", params={"mkDir": "true"})
    assert r.status_code == 400 and not r.text.startswith("<?xml")
    r = client.post_api("files/v1/allocate", json={"bytes": 1, "md5": md5(b"1"),
                                                   "path": f"{A}/{long}"})
    assert r.status_code == 400 and r.json()["error_id"] == "InvalidArgumentException"


def test_missing_paths_devices_and_mountpoints(client: Client) -> None:
    r = client.get("Jotta/Archive/nope.txt")
    assert r.status_code == 404 and "NoSuchFileException" in xml(r).findtext("message")
    r = client.get("Jotta/Archive/nodir/nope.txt")
    assert r.status_code == 404 and "NoSuchPathException" in xml(r).findtext("message")
    r = client.get("NoDevice")
    assert r.status_code == 404 and xml(r).findtext("code") == "404"
    r = client.get("Jotta/NoMount")
    assert r.status_code == 404
    assert xml(r).findtext("message") == "no.jotta.backup.errors.NoSuchMountPointException"


def test_wrong_or_missing_username_segment(client: Client, srv: JottaServer) -> None:
    r = client.http.get(srv.jfs_url + srv.login_name)
    assert r.status_code == 400 and "Username not found in url!" in r.text
    r = client.http.get(srv.jfs_url)
    assert r.status_code == 400
    r = client.http.get(srv.jfs_url + "my+email@example.com")
    assert r.status_code == 400 and "Unable to validate decoded path" in r.text


def test_error_document_fields(client: Client) -> None:
    r = client.get("Jotta/Archive/missing")
    doc = xml(r)
    assert [c.tag for c in doc] == ["code", "message", "reason", "cause", "hostname", "x-id"]
    assert doc.findtext("reason") == "Not Found"
    assert r.headers["X-ID"] == doc.findtext("x-id") and len(doc.findtext("x-id")) == 12


def test_unknown_modes_and_commands(client: Client) -> None:
    client.srv.state.put_file("Jotta/Archive/f", b"1")
    r = client.get("Jotta/Archive/f", params={"mode": "bogus"})
    assert r.status_code == 400 and xml(r).findtext("code") == "400"
    r = client.post("Jotta/Archive/f", params={"restore": "true"})
    assert r.status_code == 500 and "missing multipart content" in r.text


def test_download_and_ranges(client: Client) -> None:
    data = bytes(range(256)) * 4
    client.upload(f"{A}/r.bin", data)
    full = client.get("Jotta/Archive/r.bin", params={"mode": "bin"})
    assert full.status_code == 200 and full.content == data
    part = client.get("Jotta/Archive/r.bin", params={"mode": "bin"}, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = client.get("Jotta/Archive/r.bin", params={"mode": "bin"}, headers={"Range": "bytes=1000-"})
    assert tail.content == data[1000:]
    suffix = client.get("Jotta/Archive/r.bin", params={"mode": "bin"}, headers={"Range": "bytes=-5"})
    assert suffix.content == data[-5:]
    for bad in ("bytes=20-10", f"bytes={len(data)}-", "bytes=x-1"):
        r = client.get("Jotta/Archive/r.bin", params={"mode": "bin"}, headers={"Range": bad})
        assert r.status_code == 416 and xml(r).findtext("code") == "416"
    assert client.get("Jotta/Archive", params={"mode": "bin"}).status_code == 400


def test_download_of_older_revision_and_incomplete_file(client: Client) -> None:
    client.upload(f"{A}/v.txt", b"v1")
    client.upload(f"{A}/v.txt", b"v2")
    assert client.get("Jotta/Archive/v.txt", params={"mode": "bin"}).content == b"v2"
    old = client.get("Jotta/Archive/v.txt", params={"mode": "bin", "revision": "1"})
    assert old.content == b"v1"
    client.allocate(f"{A}/never.txt", b"never finished")
    r = client.get("Jotta/Archive/never.txt", params={"mode": "bin"})
    assert r.status_code == 404


def test_trash_tombstones_and_trash_view(client: Client) -> None:
    client.upload(f"{A}/t/keep.txt", b"keep")
    client.upload(f"{A}/t/gone.txt", b"gone")
    client.upload(f"{A}/t/sub/deep.txt", b"deep")
    r = client.post("Jotta/Archive/t/gone.txt", params={"dl": "true"})
    assert r.status_code == 200 and xml(r).get("deleted")
    # The tombstone stays addressable and listed, with deleted + abspath.
    tomb = xml(client.get("Jotta/Archive/t/gone.txt"))
    assert tomb.get("deleted")
    listing = xml(client.get("Jotta/Archive/t"))
    entry = listing.find("files/file[@name='gone.txt']")
    assert entry.get("deleted") and entry.findtext("abspath") == f"/{client.user}/Jotta/Archive/t"
    assert listing.find("files/file[@name='keep.txt']").get("deleted") is None
    r = client.post("Jotta/Archive/t/sub", params={"dlDir": "true"})
    assert r.status_code == 200 and xml(r).get("deleted")
    assert xml(client.get("Jotta/Archive/t/sub/deep.txt")).get("deleted")  # cascades
    trash = xml(client.get("Jotta/Trash"))
    assert trash.tag == "mountPoint" and trash.findtext("name") == "Trash"
    assert trash.findtext("size") == ""
    assert [f.get("name") for f in trash.iterfind("folders/folder")] == ["sub"]
    assert [f.get("name") for f in trash.iterfind("files/file")] == ["gone.txt"]
    assert trash.find("files/file").get("contextType") == "TRASH"
    assert client.srv.state.trash() == ["Jotta/Archive/t/sub", "Jotta/Archive/t/gone.txt"]
    # Trash counts in usage until purged.
    assert client.srv.state.usage() == len(b"keepgonedeep")
    r = client.post_api("files/v1/purge_trash")
    assert r.status_code == 200 and r.json() == {"files": 2, "folders": 1}
    assert client.get("Jotta/Archive/t/gone.txt").status_code == 404
    assert client.srv.state.usage() == 4
    assert xml(client.get()).findtext("usage") == "4"


def test_delete_semantics_of_missing_paths_and_hard_delete(client: Client) -> None:
    assert client.post("Jotta/Archive/missing", params={"dl": "true"}).status_code == 200
    r = client.post("Jotta/Archive/missing", params={"rm": "true"})
    assert r.status_code == 404 and "NoSuchFileException" in r.text
    client.upload(f"{A}/h/x.txt", b"x")
    assert client.post("Jotta/Archive/h", params={"rm": "true"}).status_code == 404  # folder
    assert client.post("Jotta/Archive/h/x.txt", params={"rm": "true"}).status_code == 200
    assert client.get("Jotta/Archive/h/x.txt").status_code == 404
    assert client.post("Jotta/Archive/h", params={"rmDir": "true"}).status_code == 200
    assert client.get("Jotta/Archive/h").status_code == 404
    assert client.post("Jotta/Archive/h", params={"dlDir": "true"}).status_code == 404


def test_cphash_sets_times_restores_dedupes_or_404(client: Client) -> None:
    data = b"cphash me"
    client.upload(f"{A}/c.txt", data)
    hdr = {"JMd5": md5(data), "JSize": str(len(data)), "JCreated": "2020-01-02-T03:04:05Z",
           "JModified": "2021-01-02-T03:04:05+0100"}
    r = client.post("Jotta/Archive/c.txt", params={"cphash": "true"}, headers=hdr)
    assert r.status_code == 200
    cur = xml(r).find("currentRevision")
    assert cur.findtext("created") == "2020-01-02-T03:04:05Z"
    assert cur.findtext("modified") == "2021-01-02-T02:04:05Z"
    assert cur.findtext("number") == "1"
    client.post("Jotta/Archive/c.txt", params={"dl": "true"})
    r = client.post("Jotta/Archive/c.txt", params={"cphash": "true"}, headers=hdr)
    assert r.status_code == 200 and xml(r).get("deleted") is None  # restored
    r = client.post("Jotta/Archive/other/copy.txt", params={"cphash": "true"}, headers=hdr)
    assert r.status_code == 200  # dedupe from content stored elsewhere
    assert client.get("Jotta/Archive/other/copy.txt", params={"mode": "bin"}).content == data
    unknown = {**hdr, "JMd5": md5(b"unknown"), "JSize": "7"}
    assert client.post("Jotta/Archive/u.txt", params={"cphash": "true"},
                       headers=unknown).status_code == 404
    assert client.post("Jotta/Archive/c.txt", params={"cphash": "true"}).status_code == 400


def test_copy_move_and_copy_onto_trashed_destination(client: Client) -> None:
    client.upload(f"{A}/src.txt", b"source")
    dst = f"/{client.user}/Jotta/Archive/deep/new dir/dst.txt"
    r = client.post("Jotta/Archive/src.txt", params={"cp": dst})
    assert r.status_code == 200 and xml(r).get("name") == "dst.txt"
    assert client.get("Jotta/Archive/deep/new dir/dst.txt", params={"mode": "bin"}).content == b"source"
    # Copy onto a trashed path: "succeeds" but the destination stays in the trash.
    client.upload(f"{A}/trashed.txt", b"old")
    client.post("Jotta/Archive/trashed.txt", params={"dl": "true"})
    r = client.post("Jotta/Archive/src.txt", params={"cp": f"/{client.user}/Jotta/Archive/trashed.txt"})
    assert r.status_code == 200 and xml(r).get("deleted")
    assert xml(r).findtext("currentRevision/md5") == md5(b"source")
    r = client.post("Jotta/Archive/src.txt", params={"mv": f"/{client.user}/Jotta/Sync/moved.txt"})
    assert r.status_code == 200 and xml(r).findtext("path") == f"/{client.user}/Jotta/Sync"
    assert client.get("Jotta/Archive/src.txt").status_code == 404
    r = client.post("Jotta/Archive/src.txt", params={"mv": f"/{client.user}/Jotta/Sync/x"})
    assert r.status_code == 404 and "Source file" in r.text
    client.srv.state.mkdir("Jotta/Archive/folder")
    assert client.post("Jotta/Archive/folder",
                       params={"mv": f"/{client.user}/Jotta/Archive/f2"}).status_code == 404


def test_case_only_rename_with_mv(client: Client) -> None:
    client.upload(f"{A}/name.txt", b"n")
    r = client.post("Jotta/Archive/name.txt", params={"mv": f"/{client.user}/Jotta/Archive/NAME.txt"})
    assert r.status_code == 200 and xml(r).get("name") == "NAME.txt"


def test_mvdir_with_unescaped_trailing_slash_source(client: Client) -> None:
    client.upload(f"{A}/from/a b/x.txt", b"x")
    url = client.url("Jotta/Archive") + "/from/a b/"
    r = client.http.post(url, params={"mvDir": f"/{client.user}/Jotta/Archive/to/c d"})
    assert r.status_code == 200
    assert client.get("Jotta/Archive/to/c d/x.txt", params={"mode": "bin"}).content == b"x"
    assert client.get("Jotta/Archive/from/a b").status_code == 404
    client.srv.state.mkdir("Jotta/Archive/busy")
    r = client.post("Jotta/Archive/to", params={"mvDir": f"/{client.user}/Jotta/Archive/busy"})
    assert r.status_code == 400
    r = client.post("Jotta/Archive/to", params={"mvDir": f"/{client.user}/Jotta/Archive/to/in"})
    assert r.status_code == 400


def test_liststream_and_stats(client: Client) -> None:
    st = client.srv.state
    st.put_file("Jotta/Archive/L/a.txt", b"a", modified=1_600_000_000)
    st.put_file("Jotta/Archive/L/s/b.txt", b"bb")
    st.mkdir("Jotta/Archive/L/empty")
    st.put_file("Jotta/Archive/L/gone.txt", b"g")
    st.trash_path("Jotta/Archive/L/gone.txt")
    st.put_metadata_only("Jotta/Archive/L/inc.bin", size=5, md5=md5(b"12345"), state="INCOMPLETE")
    r = client.get("Jotta/Archive/L", params={"mode": "liststream"})
    assert r.status_code == 200
    doc = xml(r)
    folders = [f.findtext("path") for f in doc.iterfind("folder")]
    assert folders == ["/Archive/L", "/Archive/L/empty", "/Archive/L/s"]
    files = [(f.findtext("path"), f.findtext("filename")) for f in doc.iterfind("file")]
    assert files == [("/Archive/L", "a.txt"), ("/Archive/L/s", "b.txt")]
    a = doc.find("file")
    assert [c.tag for c in a] == ["path", "filename", "md5", "size", "modified", "created"]
    assert a.findtext("modified") == "2020-09-13T12:26:40.000Z"
    assert doc.findtext("stats/folders") == "3" and doc.findtext("stats/files") == "2"
    whole = xml(client.get("Jotta/Archive", params={"mode": "liststream"}))
    assert whole.findtext("stats/folders") == str(len(whole.findall("folder")))
    st.trash_path("Jotta/Archive/L/s")
    assert client.get("Jotta/Archive/L/s", params={"mode": "liststream"}).status_code == 404
    assert client.get("Jotta/Archive/nope", params={"mode": "liststream"}).status_code == 404


def test_mode_list_filedirlist(client: Client) -> None:
    client.srv.state.put_file("Jotta/Archive/M/a.txt", b"a")
    client.srv.state.put_file("Jotta/Archive/M/sub/b.txt", b"b")
    doc = xml(client.get("Jotta/Archive/M", params={"mode": "list"}))
    assert doc.tag == "filedirlist"
    assert [f.get("name") for f in doc.iterfind("folders/folder")] == ["M", "sub"]
    assert doc.find("folders/folder/files/file").get("name") == "a.txt"


def test_public_links_and_links_view(client: Client) -> None:
    client.upload(f"{A}/share.txt", b"shared")
    r = client.get("Jotta/Archive/share.txt", params={"mode": "enableShare"})
    uri = xml(r).findtext("publicURI")
    assert r.status_code == 200 and len(uri) == 32
    assert xml(r).findtext("publicSharePath").startswith("/s/")
    links = xml(client.get("Jotta/Links"))
    assert links.tag == "searchresult" and links.find("files/file").findtext("publicURI") == uri
    pub = requests.get(f"{client.srv.base_url}/opin/io/downloadPublic/{client.user}/{uri}")
    assert pub.content == b"shared"
    r = client.get("Jotta/Archive/share.txt", params={"mode": "disableShare"})
    assert xml(r).find("publicURI") is None
    assert xml(client.get("Jotta/Links")).find("files") is None
    assert client.get("Jotta/Archive/nope", params={"mode": "enableShare"}).status_code == 404


def test_latest_view(client: Client) -> None:
    client.upload(f"{A}/l1.txt", b"1")
    doc = xml(client.get("Jotta/Latest", params={"max": "5"}))
    assert doc.tag == "searchresult" and doc.find("files/file").get("name") == "l1.txt"


def test_one_second_modtime_precision(client: Client) -> None:
    client.upload(f"{A}/p.txt", b"p", modified="2024-03-04T08:09:10.987654Z")
    assert xml(client.get("Jotta/Archive/p.txt")).findtext("currentRevision/modified") == (
        "2024-03-04-T08:09:10Z")


def test_custom_device_document_and_thumbnails(client: Client) -> None:
    client.post("Phone", params={"type": "IPHONE"})
    client.post("Phone/Camera")
    dev = xml(client.get("Phone"))
    assert dev.findtext("type") == "IPHONE" and dev.findtext("user") == client.user
    assert [m.findtext("name") for m in dev.iterfind("mountPoints/mountPoint")] == ["Camera"]
    assert dev.find("metadata").get("num_mountpoints") == "1"
    client.srv.state.put_file("Phone/Camera/img.jpg", b"\xff\xd8")
    r = client.get("Phone/Camera/img.jpg", params={"mode": "thumb", "ts": "WS"})
    assert r.status_code == 404 and xml(r).findtext("code") == "404"
    assert xml(client.get("Phone/Camera/img.jpg")).findtext("currentRevision/mime") == "image/jpeg"
