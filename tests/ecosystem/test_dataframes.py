"""Where users will use it: pandas, pyarrow and Dask (separate worker processes) reading and
writing ``cloudsync://`` URLs against the offline JottaCloud server."""

from __future__ import annotations

import io
import json

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("fsspec")

from cloudsync.jottaserver.testing import JottaServer  # noqa: E402


def frame(n: int, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"id": range(offset, offset + n),
                         "name": [f"item-{i}" for i in range(offset, offset + n)],
                         "value": [i * 0.5 for i in range(offset, offset + n)]})


def test_pandas_read_csv_from_a_url(srv: JottaServer, conf: str) -> None:
    df = frame(500)
    srv.state.put_file("Jotta/Archive/data/x.csv", df.to_csv(index=False).encode())
    got = pd.read_csv("cloudsync://jotta/data/x.csv", storage_options={"config": conf})
    pd.testing.assert_frame_equal(got, df)


def test_parquet_round_trip_through_pyarrow(srv: JottaServer, conf: str) -> None:
    import fsspec
    import pyarrow.parquet as pq

    df = frame(2000)
    url = "cloudsync://jotta/out/table.parquet"
    df.to_parquet(url, engine="pyarrow", storage_options={"config": conf})
    stored = srv.state.read("Jotta/Archive/out/table.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(stored)), df)  # really on the server
    back = pd.read_parquet(url, engine="pyarrow", storage_options={"config": conf})
    pd.testing.assert_frame_equal(back, df)
    fs = fsspec.filesystem("cloudsync", remote="jotta", config=conf)
    table = pq.read_table("out/table.parquet", filesystem=fs, columns=["id"])
    assert table.column("id").to_pylist() == list(range(2000))


@pytest.mark.timeout(240)
def test_dask_read_csv_on_worker_processes_sharing_rotating_tokens(srv: JottaServer, conf: str) -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    parts = [frame(200, offset=200 * i) for i in range(6)]
    for i, part in enumerate(parts):
        srv.state.put_file(f"Jotta/Archive/data/part-{i}.csv", part.to_csv(index=False).encode())
    # Access tokens live one second: every worker refreshes (and so rotates the shared refresh
    # token) during the job.  A refresh token presented twice would kill the whole login.
    srv.access_token_lifetime = 1
    srv.expire_access_tokens()
    srv.clear_request_log()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2 and __import__("os").getpid() not in pids  # separate processes
        ddf = dd.read_csv("cloudsync://jotta/data/*.csv", storage_options={"config": conf})
        got = ddf.compute()
        total = ddf["value"].sum().compute()
    want = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(got.sort_values("id").reset_index(drop=True), want,
                                  check_dtype=False)  # dask reads strings as pyarrow strings
    assert total == want["value"].sum()
    token_calls = [e for e in srv.request_log if e.path.endswith("/token")]
    assert len(token_calls) >= 3 and all(e.status == 200 for e in token_calls), token_calls
    # The login the workers left in the shared config is still alive.
    import fsspec

    from cloudsync.config import Config

    stored = json.loads(Config.load(conf).get("jotta", "token") or "{}")
    assert stored.get("refresh_token")
    srv.expire_access_tokens()
    fs = fsspec.filesystem("cloudsync", remote="jotta", config=conf, skip_instance_cache=True)
    assert len(fs.ls("data")) == 6
