"""PostgreSQL going away mid-run, on a private server: the run goes on and stores everything
once the server is back; text the server refuses never costs a batch."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from labbench.records import RunInfo
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel
from tests.acquisition.test_storage_stalls import Lines
from tests.pg_server import PrivatePostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def server():
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _record(url: str, seconds: float, device: str = "mock://nominal?rate=500") -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "record",
            "--device",
            device,
            "--dut",
            "CHP-PG",
            "--new-dut",
            "chip",
            "--duration",
            str(seconds),
            "--profile",
            "default",
            "--db",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(url: str) -> int:
    db = open_database(url)
    try:
        runs = run_store.list_runs(db)
        return runs[0].sample_count if runs else 0
    finally:
        db.dispose()


def _check_complete(url: str, lines_out: str) -> RunInfo:
    db = open_database(url)
    try:
        (run,) = run_store.list_runs(db)
        _, seq = read_channel(db, run.id, "seq")
        np.testing.assert_array_equal(seq, np.arange(seq.size))  # in order, once, nothing missing
        assert run.sample_count == seq.size * 11
        assert f"{run.sample_count} samples from {seq.size} lines" in lines_out
        return run
    finally:
        db.dispose()


def test_server_restarted_mid_run_everything_is_forwarded(server):
    # Finding 3: stopped 3 s in and back 5 s later, the writer failed at once (traceback,
    # exit 1, run left running) and everything after the stop was lost.
    open_database(server.url).dispose()
    proc = _record(server.url, 6.0)
    err = Lines(proc.stderr)
    try:
        tick = threading.Event()
        while _stored(server.url) < 500 * 11:
            tick.wait(0.05)
        server.stop()
        err.wait_for("storage stalled")
        server.start()
        err.wait_for("storage back")
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, out + err.rest()
    finally:
        proc.kill()
        proc.wait()
    text = err.rest()
    assert "Traceback" not in text
    run = _check_complete(server.url, out)
    assert run.status == "recorded"
    db = open_database(server.url)
    try:
        kinds = [e.kind for e in event_store.run_events(db, run.id)]
        assert "storage_stall" in kinds and "storage_back" in kinds
    finally:
        db.dispose()


class CommitCutter:
    """A TCP proxy to the server that, once armed, lets the next COMMIT through and cuts the
    connection before its answer comes back: the commit happened, the client cannot know."""

    def __init__(self, port: int):
        self.server_port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.server_port))
            self._sockets += [client, upstream]
            state = {"commit_sent": False}
            for args in ((client, upstream, state, True), (upstream, client, state, False)):
                thread = threading.Thread(target=self._pump, args=args, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, src: socket.socket, dst: socket.socket, state: dict, to_server: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if to_server and self.armed.is_set() and b"COMMIT\x00" in data:
                    self.armed.clear()
                    state["commit_sent"] = True
                elif not to_server and state["commit_sent"]:
                    self.cuts += 1
                    break  # the answer to COMMIT never arrives
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


def test_a_commit_whose_answer_is_lost_is_not_stored_twice(server):
    from labbench.protocols.profile import load_profile
    from labbench.runs.recording import record

    cutter = CommitCutter(server.port)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{cutter.port}/postgres"
    db = open_database(url)
    result = {}
    try:
        dut = inventory_store.add_dut(db, "chip", "CHP-DOUBT")
        recording = threading.Thread(
            target=lambda: result.setdefault(
                "summary",
                record(
                    db,
                    device="mock://nominal?rate=500",
                    dut=dut,
                    duration_s=3.0,
                    profile=load_profile("default"),
                ),
            )
        )
        recording.start()
        tick = threading.Event()
        while _stored(server.url) < 200 * 11:
            tick.wait(0.05)
        cutter.armed.set()
        recording.join(60)
        assert not recording.is_alive()
    finally:
        db.dispose()
        cutter.close()
    assert cutter.cuts == 1
    summary = result["summary"]
    assert summary.status == "recorded"
    run = _check_complete(server.url, f"{summary.samples} samples from {summary.lines} lines")
    assert run.sample_count == summary.samples


def test_server_frozen_past_the_end_of_the_recording(server):
    # Finding 1: a server frozen (SIGSTOP) for 90 s gave exit 0 `recorded` with data only to
    # 4.5 s.  Here it stays frozen until the recording ended and waits for it.
    open_database(server.url).dispose()
    proc = _record(server.url, 4.0)
    err = Lines(proc.stderr)
    try:
        tick = threading.Event()
        while _stored(server.url) < 200 * 11:
            tick.wait(0.05)
        server.freeze()
        err.wait_for("storage stalled")
        err.wait_for("waiting for the database")
        server.thaw()
        err.wait_for("storage back")
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, out + err.rest()
    finally:
        if server.frozen:
            server.thaw()
        proc.kill()
        proc.wait()
    assert "Traceback" not in err.rest()
    run = _check_complete(server.url, out)
    assert run.status == "recorded"
