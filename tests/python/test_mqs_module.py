"""The mqs Python module against real graphs run by mqrun: zero-copy numpy
arrays of the bytes C blocks wrote, buffers returned when their arrays are
collected, read-only inputs, taps that come and go (100 times, and killed
with SIGKILL) while the graph loses nothing. Run by ctest with Debian's
python3: MQS_BUILD points at the build tree, PYTHONPATH at its python/."""
import gc
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

import mqs

BUILD = os.environ["MQS_BUILD"]
MQRUN = os.path.join(BUILD, "bin", "mqrun")
W, H = 64, 48


class Run:
    """mqrun on a graph written to a temporary directory."""

    def __init__(self, name, text):
        self.dir = tempfile.TemporaryDirectory(prefix="mqstest-py-")
        self.name = name
        self.path = os.path.join(self.dir.name, "graph.yaml")
        with open(self.path, "w") as f:
            f.write(text.replace("@DIR@", self.dir.name))
        self.proc = subprocess.Popen([MQRUN, "-q", self.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = [r for r in mqs.runs(name) if r["alive"] and r["running"] == r["blocks"] and r["blocks"]]
            if runs:
                return
            time.sleep(0.01)
        self.proc.kill()
        raise AssertionError("graph %s never ran: %s" % (name, self.proc.communicate()[1].decode()))

    def file(self, name):
        return os.path.join(self.dir.name, name)

    def finish(self, test):
        out, err = self.proc.communicate(timeout=60)
        test.assertEqual(self.proc.returncode, 0, err.decode())
        test.assertEqual(mqs.runs(self.name), [], "nothing of the run is left")

    def report(self, block):
        with open(self.file("report.json")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return [r for r in lines if r.get("block") == block][-1]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.dir.cleanup()


def checked_graph(name, frames, fps):
    return Run(name, f"""name: {name}
blocks:
  src: {{ type: pattern_source, params: {{ width: {W}, height: {H}, format: gray8, fps: {fps}, count: {frames},
         verify: true }} }}
  check: {{ type: checksum_sink, inputs: {{ in: src.out }}, params: {{ report: @DIR@/report.json }} }}
""")


def expect_clean(test, run, frames):
    run.finish(test)
    report = run.report("check")
    test.assertEqual(report["frames"], frames)
    test.assertEqual(report["gaps"], 0)
    test.assertEqual(report["corrupt"], 0)


def shm_mapping_of(address):
    """The /proc/self/maps path of the mapping that holds `address`."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= address < hi:
                return parts[5] if len(parts) > 5 else ""
    return None


class Arrays(unittest.TestCase):
    def setUp(self):
        self.run = Run("mqstest_py_arrays", f"""name: mqstest_py_arrays
blocks:
  src: {{ type: pattern_source, params: {{ width: {W}, height: {H}, format: gray8, fps: 200, count: 200,
         pattern: noise }} }}
  rec: {{ type: y4m_sink, inputs: {{ in: src.out }}, params: {{ file: @DIR@/out.y4m, chroma: mono }} }}
""")

    def tearDown(self):
        self.run.close()

    def test_arrays_are_the_bytes_the_source_wrote_without_a_copy(self):
        graph = mqs.attach("mqstest_py_arrays")
        self.assertEqual(graph.outputs, ["src.out"])
        seen = {}
        with graph.tap("src.out", depth=64, policy="block") as tap:
            for _ in range(20):
                buf = tap.get(timeout=5)
                a = buf.array
                self.assertEqual(a.shape, (H, W))
                self.assertEqual(a.dtype, np.uint8)
                self.assertFalse(a.flags.writeable)
                self.assertEqual((buf.width, buf.height, buf.format), (W, H, "gray8"))
                path = shm_mapping_of(a.ctypes.data)
                self.assertTrue(path and path.startswith("/dev/shm/mqs.") and ".mqstest_py_arrays." in path,
                                "the array lies in the pool's shared memory, not a copy: %r" % path)
                with self.assertRaises(ValueError):
                    a[0, 0] = 1
                seen[buf.seq] = a.copy()
                del a, buf
        self.run.finish(self)
        with open(self.run.file("out.y4m"), "rb") as f:
            data = f.read()
        body = data[data.index(b"\n") + 1:]
        frame = len(b"FRAME\n") + W * H
        self.assertEqual(len(body), 200 * frame)
        for seq, pixels in seen.items():
            start = seq * frame + len(b"FRAME\n")
            expected = np.frombuffer(body[start:start + W * H], dtype=np.uint8).reshape(H, W)
            self.assertTrue(np.array_equal(pixels, expected), "frame %d differs from what the sink wrote" % seq)


class Lifetime(unittest.TestCase):
    def setUp(self):
        self.run = checked_graph("mqstest_py_life", 60, 200)

    def tearDown(self):
        self.run.close()

    def test_a_dropped_array_returns_its_buffer(self):
        tap = mqs.attach("mqstest_py_life").tap("src.out", depth=4, policy="drop_oldest")
        kept = [tap.get(timeout=5).array for _ in range(3)]  # the Buffers live on as the arrays' base
        gc.collect()
        self.assertEqual(tap.stats()["held"], 3)
        expect_clean(self, self.run, 60)  # the graph ends; our three are still ours
        tap.close()                       # the mapping stays while arrays live
        self.assertEqual(tap.pool()["in_use"], 3, "ours alone: the queued ones went back at close")
        first = kept[0][0, 0]             # still readable
        self.assertIsInstance(int(first), int)
        del kept
        gc.collect()
        with self.assertRaises(mqs.Error):
            tap.pool()                    # the last Buffer went: the tap is closed for real

    def test_queue_verbs(self):
        graph = mqs.attach("mqstest_py_life")
        tap = graph.tap("src.out", depth=2, policy="drop_newest")
        self.assertEqual(tap.qsize(), 0) if tap.empty() else self.assertGreater(tap.qsize(), 0)
        got = 0
        try:
            for buf in tap:               # stops at end of stream
                got += 1
        finally:
            tap.close()
        self.assertGreater(got, 0)
        with self.assertRaises(mqs.Error):
            tap.get_nowait()
        expect_clean(self, self.run, 60)


class Errors(unittest.TestCase):
    def test_unknown_graph_and_output(self):
        with self.assertRaisesRegex(mqs.Error, "no running graph named 'mqstest_py_none'.*mqctl ls"):
            mqs.attach("mqstest_py_none")
        run = checked_graph("mqstest_py_err", 100, 100)
        try:
            graph = mqs.attach("mqstest_py_err")
            with self.assertRaisesRegex(mqs.Error, "no output 'nosuch.out'.*src.out"):
                graph.tap("nosuch.out")
            with self.assertRaises(ValueError):
                graph.tap("src.out", policy="sometimes")
            with self.assertRaises(ValueError):
                graph.tap("src.out", depth=0)
            tap = graph.tap("src.out", depth=1)
            while True:
                try:
                    tap.get_nowait()
                    continue
                except queue.Empty:
                    break
            with self.assertRaises(queue.Empty):
                tap.get(timeout=0)
            tap.close()
            expect_clean(self, run, 100)
        finally:
            run.close()


TAP_AND_HOLD = """
import sys, mqs
tap = mqs.attach(sys.argv[1]).tap("src.out")
held = [tap.get(timeout=5) for _ in range(3)]
print("ready", flush=True)
sys.stdin.read()
"""


class Taps(unittest.TestCase):
    def setUp(self):
        self.run = checked_graph("mqstest_py_taps", 1500, 300)

    def tearDown(self):
        self.run.close()

    def test_100_taps_and_a_killed_one_leave_the_graph_whole(self):
        graph = mqs.attach("mqstest_py_taps")
        for i in range(100):
            with graph.tap("src.out", depth=4) as tap:
                buf = tap.get(timeout=5)
                self.assertEqual(buf.array.shape, (H, W))
                del buf
        child = subprocess.Popen([sys.executable, "-c", TAP_AND_HOLD, "mqstest_py_taps"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=os.environ)
        self.assertEqual(child.stdout.readline().strip(), b"ready")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        with graph.tap("src.out") as tap:     # the graph still runs and sends
            self.assertEqual(tap.get(timeout=5).array.shape, (H, W))
        expect_clean(self, self.run, 1500)


if __name__ == "__main__":
    unittest.main()
