"""Offline, protocol-faithful JottaCloud server (``cloudsync serve jottacloud``).

Written from ``shared/reference/jottacloud-protocol.md`` only; it imports nothing from
``cloudsync.backends.jottacloud`` so a mistake shared by client and server cannot hide itself.

Modules
-------
``testing``  fixture API for tests: :class:`~cloudsync.jottaserver.testing.JottaServer` (thread,
             context manager) and ``JottaServerProcess`` (subprocess).  Usage example in its docstring.
``cli``      the click group ``serve`` with the command ``jottacloud``; also ``python -m cloudsync.jottaserver``.
``app``      routes (JFS XML, JSON API, uploads, OIDC, legacy auth); ``store`` SQLite metadata + blob
             files; ``auth`` tokens; ``xmldoc`` documents; ``faults`` fault injection; ``wire`` HTTP/1.1
             (keep-alive, chunked request bodies, streamed file bodies, optional TLS).

``JottaServer(tls_cert=..., tls_key=..., public_url=...)`` (CLI ``--tls-cert/--tls-key/--public-url``)
serves HTTPS so an unmodified client with fixed hosts (rclone) can reach it through a name mapping;
``tests/server/test_rclone.py`` does exactly that with rclone 1.75.2.

URL layout (one port; ``BASE`` = ``http://127.0.0.1:<port>``)
-------------------------------------------------------------
===========================================================  =====================================
``BASE/jfs/<user>/<device>/<mountpoint>/<path>``             JFS XML API (override of ``https://jfs.jottacloud.com/jfs/``)
``BASE/account/v1/customer``                                 JSON API base ``BASE/`` (override of ``https://api.jottacloud.com/``)
``BASE/files/v1/allocate``, ``BASE/files/v1/purge_trash``
``BASE/files/v1/upload/<upload_id>``                         upload URL returned by allocate (use verbatim)
``BASE/auth/v1/register``, ``BASE/auth/v1/token``            legacy auth
``BASE/auth/realms/<realm>/.well-known/openid-configuration`` OIDC discovery, one realm per brand
``BASE/auth/realms/<realm>/protocol/openid-connect/{auth,token,userinfo,certs,logout}``
``BASE/opin/io/downloadPublic/<user>/<publicURI>``            public-link download
===========================================================  =====================================

Login tokens carry ``well_known_link = BASE/auth/realms/<realm>/.well-known/openid-configuration``,
so a client that follows the standard flow finds the token endpoint by itself.

Choices made where the reference is silent, marked [inferred]/[unverified], or contradictory
--------------------------------------------------------------------------------------------
Account and auth
 1. The internal username (JFS URLs, ``customer.username``) is a deterministic 24-character
    base-36 string derived from the login name (``--user``) – never the login name itself.
 2. One account, reachable through every realm; a login token, refresh token or auth code only
    works at the realm it was issued for.  Realms (not brand keys) are served: both Elgiganten
    sites share realm ``elgiganten``.
 3. Password grant: only client ``jottacli``; ``username`` = login name, ``password`` = an unused
    login token's ``auth_token`` for that realm.  A used/unknown token → **401**
    ``invalid_grant`` "Invalid user credentials" (Keycloak's status; jafs says 401).
 4. Clients: ``jottacli`` and ``desktop``/``desktop-win``/``desktop-mac`` everywhere, except that
    Phonero refuses ``desktop`` (401 ``unauthorized_client``) and scope ``jotta-default``
    (400 ``invalid_scope``).  Client secrets of these public clients are not checked.  Missing
    client id → 401 ``unauthorized_client``.
 5. Returned ``scope`` = requested scopes with ``email`` added before ``offline_access``
    (``openid offline_access`` → ``openid email offline_access``, as recorded).  With
    ``offline_access`` the refresh token never expires (``refresh_expires_in`` 0); without it,
    30 minutes.  ``token_type`` is ``Bearer`` (OIDC) and ``bearer`` (legacy).  Tokens are
    unsigned JWT-shaped strings; only their SHA-256 is stored.
 6. Refresh rotation: each refresh marks the old refresh token used; reuse → 400
    ``invalid_grant`` "Stale token" and the whole family (all access + refresh tokens) dies;
    a refresh in a dead family → 400 "Session not active"; a different client →
    400 "Session doesn't have required client".  Rotation does not invalidate the family's
    earlier access tokens (they live until expiry).
 7. Access tokens expire after ``access_token_lifetime`` (default 3600 s).  JFS/API answer a
    missing/malformed bearer with 401 "No token or token is malformed!" and an unknown, expired
    or revoked one with 401 "Token mismatch!" (both recorded messages).
 8. Upper-case grant types at the OIDC endpoint → 400 ``unsupported_grant_type`` [unverified
    claim adopted]; lower-case at the legacy endpoint → the same.
 9. Authorization endpoint: redirect URIs must be ``http://localhost|127.0.0.1|::1``; codes live
    60 s and are single use (replay → 400 ``invalid_grant`` and the tokens issued from the code
    are revoked).  Headless approval via the fixture, or the HTML form (login name or
    ``<login>@example.com`` + account password).
10. Legacy: ``/auth/v1/register`` needs any non-empty Bearer value; ``/auth/v1/token`` accepts
    parameters in query and/or form body, client credentials as params or Basic; the built-in
    client id ``nibfk8biu12ju7hpqomr8b1e40`` is accepted with any secret, registered clients
    need theirs.  Wrong password → 400 ``invalid_grant`` (the 2019 recorded description).
    With OTP on: no ``X-JottaCloud-OTP`` header → 401 with ``X-JottaCloud-OTP: required; SMS``;
    wrong code → 400 ``invalid_grant`` without that header (so clients do not loop).
JFS
11. A JFS URL whose user segment is missing or not the internal username → 400
    UsernameNotFoundException; a raw ``+`` in the user segment → 400 "Unable to validate decoded
    path".  A raw ``+`` elsewhere is a literal ``+`` (rclone's ``mvDir`` path is sent unescaped).
12. Paths are percent-decoded per segment (``+`` is not a space), Jetty-style ``;params`` are
    dropped from a segment, empty segments ignored (trailing ``/``).  Query strings are form-decoded.
13. Restricted names: a decoded name still containing ``%XX`` → bare ``400 Bad request`` with no
    XML (as recorded); invalid UTF-8 escapes the same; names > 255 characters → 400
    InvalidArgumentException; ``.``/``..``, empty names and characters XML cannot carry → 400
    InvalidArgumentException.  Everything else (``"*:<>?|`` etc.) is stored as given.
14. Names match case-insensitively (Python ``str.lower``) and keep their stored case; writing
    ``a.TXT`` over ``A.txt`` adds a revision to ``A.txt``.
15. Devices: ``Jotta`` (type JOTTA) with mountpoints ``Archive``, ``Shared``, ``Sync``; ``Trash``,
    ``Links`` and ``Latest`` are not listed but can be fetched (views).  Creating a device always
    answers 201; a mountpoint 201 new / 200 existing — also on the built-in device (refusing
    that is rclone's client-side rule).  Unknown device → 404 NoSuchDeviceException, unknown
    mountpoint → 404 NoSuchMountPointException.
16. Listings: folders first then files, ordered by upper-cased name; tombstone children carry
    ``deleted`` + ``<abspath>`` (= the listed folder's own path); ``latestRevision`` has no
    ``size`` in listings, and when fetched directly an INCOMPLETE one shows the bytes received.
    ``<revisions>`` holds at most 4 older COMPLETED revisions; at most 5 are kept.  No ``mstyle``
    (absent from every 2018+ sample).  ``host`` is ``dn-157``.  Device/mountpoint ``size`` sums
    live current revisions.
17. Missing path: 404 NoSuchFileException if the parent folder exists, else 404
    NoSuchPathException for the parent.  Unknown GET ``mode`` → 400 InvalidArgumentException;
    POST without a known command (e.g. ``restore=true``) → 500 with the recorded message.
18. ``mode=bin``: only COMPLETED content (``revision=N`` picks an older one); also for a trashed
    file.  ``Range`` → 206 with ``Content-Range``; suffix ranges work; start > end or start ≥ size
    → 416.  ``mode=bin`` on a folder → 400.  ``mode=thumb`` → 404.
19. ``mode=liststream``: root element ``<liststream>``; the start folder is emitted first and
    counted; pre-order; only live folders and live files with a COMPLETED revision; times are
    RFC 3339 with ``.000``; chunked transfer.  On a trashed folder → 404.  ``mode=list``: root
    ``<filedirlist>``, one ``<folder>`` per live folder (start first) with its live files.
20. ``mkDir=true`` is idempotent (200 + ``<folder>``), creates parents, revives trashed folders on
    the path (not their trashed contents), works on the mountpoint (200 + ``<mountPoint>``), and
    a trashed *file* in the way is purged; a live file in the way → 400.
21. Trash: ``dl``/``dlDir`` mark the item and all its live descendants deleted with one
    timestamp; ``dl`` on a folder trashes it too; ``dl`` on a missing path → 200 with an empty
    body; ``rm`` on a missing path or a folder → 404; ``rmDir`` purges a folder, trashed or not.
    Writing below a trashed folder revives the folders on the path.  The Trash view lists
    trashed items whose parent is not trashed, with ``contextType="TRASH"``.
22. ``purge_trash`` answers ``{"files": N, "folders": M}`` counting every removed item
    (nested ones included).  Blobs no revision uses any more are deleted.
23. ``cphash``: needs ``JMd5`` + ``JSize`` (else 400 with the recorded JMd5 message); if the
    path's current revision has that md5+size → times updated (and a tombstone restored);
    else if that content exists anywhere → new revision by dedupe; else 404.
24. ``cp``: destination parents are created; a destination with the same content gets no new
    revision; a *trashed* destination stays trashed (the documented server bug).  ``mv`` onto an
    existing file adds the content as a new revision there and restores it if trashed; ``mv`` of a
    folder → 404.  ``mvDir`` onto any existing path, trashed included, → 400 (the documented
    "previously deleted paths" failure; empty the trash first); into itself → 400.
25. ``enableShare``/``disableShare`` work on files and folders; share id = 32 hex,
    ``publicSharePath`` = ``/s/<24 hex>`` (shown only when the node is fetched directly).
    ``Jotta/Links`` and ``Jotta/Latest`` answer ``<searchresult>`` (jafs Links.xml shape).
JSON API and uploads
26. Allocate ``path``: ``/jfs/<device>/<mountpoint>/<path>`` or ``<mountpoint>/<path>`` on device
    Jotta; ``created``/``modified``: RFC 3339, JFS format, Unix milliseconds, or absent (= now).
    Parents are created at allocate.  Decision order: same path with same md5+size → COMPLETED
    (times updated); content known anywhere (or the empty file) → COMPLETED new revision; an
    unfinished upload of the same md5+size on that path → its ``upload_url`` and ``resume_pos``;
    otherwise a new INCOMPLETE revision (replacing an unfinished one with other content).
    ``conflict_handler: REJECT_CONFLICTS`` on a different live file → 409 UniqueFileException.
    A COMPLETED answer still carries a fresh (unusable) ``upload_id``/``upload_url``.
    Over quota (capacity ≥ 0) → 507 QuotaExceededException.
27. Upload: bearer required; ``Range: bytes=<start>-[<end>]`` resumes (start must not exceed the
    bytes stored; a smaller start rewrites from there); no Range = from 0.  Body complete and
    md5 matches → 201 ``{md5, bytes, content_id, path, modified(ms)}``; md5 mismatch or more bytes
    than allocated → 400 CorruptUploadOpenApiException and a CORRUPT latest revision; body
    shorter than the allocation → 420 IncompleteUploadOpenApiException (resumable); connection
    lost → INCOMPLETE revision keeping the bytes received.  A second concurrent POST to the same
    upload → 409.  A trashed file is restored only when its new upload completes.
28. JSON API errors: ``{code, message, cause, error_id, x-id}`` with ``code`` = HTTP status.
    ``customer.quota`` = capacity (-1 unlimited) and ``usage`` as in 29.
29. Usage = size of the current COMPLETED revision of every file, **trash included**; older
    revisions are free.  ``<user>/capacity`` -1 means unlimited.
30. Times are kept in whole seconds (JFS precision); a file's ``updated`` is its revision's
    server time.
"""
