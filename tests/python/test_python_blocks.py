"""Python blocks (type: python) in real graphs run by mqrun: C blocks'
frames through numpy filters with exact counts and checksums, the same
buffer forwarded across processes without a copy, a Python source, aligned
inputs, typed params, an exception as a block failure with its traceback,
and a bad module refused before anything starts. Run by ctest with
Debian's python3: MQS_BUILD points at the build tree."""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import mqs

BUILD = os.environ["MQS_BUILD"]
MQRUN = os.path.join(BUILD, "bin", "mqrun")
BLOCKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blocks")


class Graph:
    """A graph file in a temporary directory; @DIR@ and @BLOCKS@ are filled in."""

    def __init__(self, test, name, text):
        self.test = test
        self.name = name
        self.dir = tempfile.TemporaryDirectory(prefix="mqstest-pyblock-")
        test.addCleanup(self.dir.cleanup)
        self.path = self.file("graph.yaml")
        with open(self.path, "w") as f:
            f.write(text.replace("@DIR@", self.dir.name).replace("@BLOCKS@", BLOCKS))

    def file(self, name):
        return os.path.join(self.dir.name, name)

    def run(self, *args, expect=0):
        p = subprocess.run([MQRUN, *args, self.path], capture_output=True, text=True, timeout=120)
        self.test.assertEqual(p.returncode, expect, p.stderr)
        self.test.assertEqual(mqs.runs(self.name), [], "nothing of the run is left")
        return p.stderr

    def report(self, block):
        with open(self.file("report.json")) as f:
            return [r for r in map(json.loads, filter(str.strip, f)) if r.get("block") == block][-1]

    def lines(self, name):
        with open(self.file(name)) as f:
            return [line.split() for line in f]


def source(frames, fmt="gray8", width=64, height=48):
    return (f"{{ type: pattern_source, params: {{ width: {width}, height: {height}, format: {fmt}, fps: 0, "
            f"count: {frames}, pattern: noise, verify: true }} }}")


class PythonBlocks(unittest.TestCase):
    def test_a_numpy_copy_between_c_blocks_passes_checksum_sink(self):
        for fmt in ("gray8", "rgb24", "i420"):
            with self.subTest(format=fmt):
                g = Graph(self, "pyblock_copy", f"""name: pyblock_copy
blocks:
  src: {source(300, fmt)}
  copy: {{ type: python, inputs: {{ in: src.out }}, params: {{ module: @BLOCKS@/copy.py }} }}
  check: {{ type: checksum_sink, inputs: {{ in: copy.out }}, params: {{ report: @DIR@/report.json }} }}
""")
                g.run()
                report = g.report("check")
                self.assertEqual((report["frames"], report["gaps"], report["corrupt"]), (300, 0, 0))

    def test_a_forwarded_buffer_crosses_processes_without_a_copy(self):
        g = Graph(self, "pyblock_forward", f"""name: pyblock_forward
blocks:
  src: {source(200)}
  a: {{ type: python, inputs: {{ in: src.out }}, params: {{ module: @BLOCKS@/forward.py, log: @DIR@/a.log }} }}
  b: {{ type: python, inputs: {{ in: a.out }}, params: {{ module: @BLOCKS@/forward.py, log: @DIR@/b.log }} }}
  check: {{ type: checksum_sink, inputs: {{ in: b.out }}, params: {{ report: @DIR@/report.json }} }}
""")
        g.run()
        report = g.report("check")
        self.assertEqual((report["frames"], report["gaps"], report["corrupt"]), (200, 0, 0))
        a, b = g.lines("a.log"), g.lines("b.log")
        self.assertEqual([int(seq) for seq, _ in a], list(range(200)))
        self.assertEqual(a, b, "b got the very buffers a forwarded: same seq, same ID")

    def test_a_python_source_feeds_a_c_sink(self):
        g = Graph(self, "pyblock_source", """name: pyblock_source
blocks:
  ramp: { type: python, params: { module: @BLOCKS@/ramp.py, width: 40, height: 30, count: 300 } }
  rec: { type: y4m_sink, inputs: { in: ramp.out }, params: { file: @DIR@/out.y4m, chroma: mono } }
""")
        g.run()
        with open(g.file("out.y4m"), "rb") as f:
            header = f.readline()
            self.assertTrue(header.startswith(b"YUV4MPEG2 W40 H30 "), header)
            for n in range(300):
                self.assertEqual(f.readline(), b"FRAME\n")
                self.assertEqual(f.read(40 * 30), bytes([n % 256]) * (40 * 30), f"frame {n}")
            self.assertEqual(f.read(), b"", "exactly 300 frames")

    def test_aligned_inputs_come_as_sets(self):
        cam = ("{{ type: pattern_source, params: {{ width: 32, height: 24, format: gray8, fps: 200, count: 60, "
               "trigger: shared, seed: {} }} }}")
        g = Graph(self, "pyblock_pairs", f"""name: pyblock_pairs
blocks:
  l: {cam.format(1)}
  r: {cam.format(2)}
  pairs:
    type: python
    inputs: {{ left: l.out, right: r.out }}
    params: {{ module: @BLOCKS@/pairs.py, log: @DIR@/pairs.log }}
    sync: {{ policy: exact, timeout: 1s }}
""")
        g.run()
        sets = g.lines("pairs.log")
        self.assertEqual(len(sets), 60)
        for set_pts, left, right, partial, writable in sets:
            self.assertEqual((left, right, partial, writable), (set_pts, set_pts, "0", "read-only"))
        self.assertEqual(len({s[0] for s in sets}), 60, "60 distinct instants")

    def test_an_aligned_module_refuses_unsynced_inputs(self):
        g = Graph(self, "pyblock_unsynced", """name: pyblock_unsynced
blocks:
  l: { type: pattern_source, params: { format: gray8, count: 1 } }
  r: { type: pattern_source, params: { format: gray8, count: 1 } }
  pairs: { type: python, inputs: { left: l.out, right: r.out }, params: { module: @BLOCKS@/pairs.py, log: x } }
""")
        err = g.run(expect=2)
        self.assertIn("sync", err)

    def test_the_modules_threads_run_while_the_block_waits(self):
        g = Graph(self, "pyblock_thread", """name: pyblock_thread
blocks:
  src: { type: pattern_source, params: { width: 16, height: 16, format: gray8, fps: 50, count: 40 } }
  p: { type: python, inputs: { in: src.out }, params: { module: @BLOCKS@/threaded.py, out: @DIR@/ticks } }
""")
        g.run()
        with open(g.file("ticks")) as f:
            ticks = int(f.read())
        self.assertGreaterEqual(ticks, 30, "0.8 s of 10 ms ticks: the GIL is free between calls")

    def test_params_arrive_typed_with_defaults(self):
        g = Graph(self, "pyblock_params", f"""name: pyblock_params
blocks:
  src: {source(3)}
  p:
    type: python
    inputs: {{ in: src.out }}
    params: {{ module: @BLOCKS@/params.py, out: @DIR@/params.json, steps: 7, on: true, wait: 2s, mode: exact }}
""")
        g.run()
        with open(g.file("params.json")) as f:
            got = json.loads(f.read())
        self.assertEqual(got, {"out": [g.file("params.json"), "str"], "gain": [1.5, "float"], "steps": [7, "int"],
                               "on": [True, "bool"], "wait": [2000000000, "int"], "room": [2048, "int"],
                               "mode": ["exact", "str"], "fail_at": [0, "int"]})

    def test_an_exception_is_a_block_failure_with_its_traceback(self):
        g = Graph(self, "pyblock_fails", f"""name: pyblock_fails
blocks:
  src: {source(50)}
  p:
    type: python
    inputs: {{ in: src.out }}
    params: {{ module: @BLOCKS@/params.py, out: @DIR@/params.json, fail_at: 5 }}
    max_restarts: 2
    backoff: 10ms
""")
        err = g.run(expect=4)
        self.assertEqual(err.count("Traceback (most recent call last):"), 3, err)
        self.assertEqual(err.count('params.py", line'), 3)
        self.assertEqual(err.count("RuntimeError: failing on frame 5 as asked"), 3)
        self.assertIn("giving up on block 'p' after 2 restarts", err)
        with open(g.file("params.json")) as f:
            self.assertEqual(len(f.readlines()), 3, "init() ran once per start")

    def test_a_bad_module_is_refused_before_anything_starts(self):
        cases = {
            "no_block.py": ("x = 1\n", "declares no MQS_BLOCK dict"),
            "no_process.py": ('MQS_BLOCK = {"inputs": ["in"]}\n', "is a sink without process() (hint: define process(inputs))\n"),
            "bad_format.py": ('MQS_BLOCK = {"inputs": [{"name": "in", "format": "grey"}]}\ndef process(i): pass\n',
                              "input 'in' has format 'grey' (one of any, rgb24, gray8, i420)"),
            "bad_caps.py": ('MQS_BLOCK = {"inputs": ["in"], "outputs": [{"name": "o", "width": "$w"}]}\n'
                            'def process(i): pass\n', "output 'o' takes width from param 'w', which it does not declare"),
            "raises.py": ('MQS_BLOCK = {}\nraise KeyError("lost")\n',
                          "importing it raised KeyError: 'lost' (raises.py, line 2)"),
            "syntax.py": ("MQS_BLOCK = {\n", "importing it raised SyntaxError: '{' was never closed (syntax.py, line 1)"),
        }
        for module, (text, message) in cases.items():
            with self.subTest(module=module):
                g = Graph(self, "pyblock_bad", f"""name: pyblock_bad
blocks:
  src: {source(1)}
  p: {{ type: python, inputs: {{ in: src.out }}, params: {{ module: {module} }} }}
""")
                with open(g.file(module), "w") as f:
                    f.write(text)
                err = g.run(expect=2)
                self.assertIn("graph.yaml:4:", err)
                self.assertIn(f"error: block 'p': Python block {g.file(module)}: {message}", err)

    def test_graph_errors_name_the_module_and_the_fix(self):
        cases = {
            "{ type: python, inputs: { in: src.out } }": "needs its module (hint: params: { module: path/to/block.py }",
            "{ type: python, inputs: { in: src.out }, params: { module: nowhere.py } }": "module ",
            "{ type: python, inputs: { in: src.out }, params: { module: @BLOCKS@/params.py, out: x, gian: 2 } }":
                "unknown param 'gian' (hint: its module declares out, gain, steps, on, wait, room, mode, fail_at, "
                "and `module`)",
            "{ type: python, inputs: { in: src.out }, params: { module: @BLOCKS@/params.py, out: x, gain: 9 } }":
                "param 'gain'",
            "{ type: python, inputs: { in: src.out }, params: { module: @BLOCKS@/params.py } }": "'out'",
            "{ type: python, inputs: { in: src.out }, params: { module: @BLOCKS@/ramp.py } }":
                "block 'p' (python) has no input 'in' (hint: its inputs are: none)",
        }
        for block, message in cases.items():
            with self.subTest(block=block):
                g = Graph(self, "pyblock_graph_error", f"""name: pyblock_graph_error
blocks:
  src: {source(1)}
  p: {block}
""")
                err = g.run(expect=2)
                self.assertIn(message.replace("@BLOCKS@", BLOCKS), err)


class ExampleGraph(unittest.TestCase):
    """graphs/python_block.yaml: levels.py between grayscale and y4m_sink."""

    def frames(self, *sets):
        directory = tempfile.TemporaryDirectory(prefix="mqstest-pyblock-")
        self.addCleanup(directory.cleanup)
        out = os.path.join(directory.name, "levels.y4m")
        args = [MQRUN, "-q", "--set", "camera.fps=0", "--set", "camera.count=12", "--set", f"recorder.file={out}",
                "--set", "recorder.chroma=mono"]
        for s in sets:
            args += ["--set", s]
        graph = os.path.join(os.path.dirname(BLOCKS), "..", "..", "graphs", "python_block.yaml")
        p = subprocess.run(args + [graph], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertTrue(f.readline().startswith(b"YUV4MPEG2 W1280 H720 "))
            data = f.read()
        size = 6 + 1280 * 720
        self.assertEqual(len(data), 12 * size, "exactly 12 frames")
        return [np.frombuffer(data[i * size + 6:(i + 1) * size], np.uint8) for i in range(12)]

    def test_the_levels_are_stretched_as_numpy_computes_them(self):
        identity = self.frames("levels.black=0", "levels.white=255")
        stretched = self.frames()  # black 48, white 200
        lut = np.clip((np.arange(256) - 48) * 255.0 / (200 - 48), 0, 255).astype(np.uint8)
        for n, (grey, got) in enumerate(zip(identity, stretched)):
            self.assertTrue(np.array_equal(lut[grey], got), f"frame {n}")
        self.assertGreater(len(np.unique(identity[0])), 2, "the pattern has levels to stretch")

    def test_a_modules_path_is_not_set_from_the_command_line(self):
        graph = os.path.join(os.path.dirname(BLOCKS), "..", "..", "graphs", "python_block.yaml")
        p = subprocess.run([MQRUN, "--set", "levels.module=other.py", graph], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--set levels.module=other.py: block 'levels' takes its ports and params from its module", p.stderr)


if __name__ == "__main__":
    unittest.main()
