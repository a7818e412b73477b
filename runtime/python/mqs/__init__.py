"""multiqueue-shm from Python: taps on running graphs, buffers as numpy arrays without a copy.

    import mqs
    graph = mqs.attach("video_pipeline")
    with graph.tap("scale.out", depth=4, policy="drop_oldest") as tap:
        frame = tap.get(timeout=1.0)   # a mqs.Buffer
        image = frame.array            # numpy, read-only, no copy: height x width (x 3)
        print(frame.pts, frame.seq, image.shape)

See docs/python.md.
"""
from ._mqs import (Buffer, EndOfStream, Error, Graph, Tap, attach, runs)  # noqa: F401

__all__ = ["attach", "runs", "Graph", "Tap", "Buffer", "Error", "EndOfStream"]
