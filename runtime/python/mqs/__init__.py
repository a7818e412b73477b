"""multiqueue-shm from Python: taps on running graphs, buffers as numpy arrays without a copy.

    import mqs
    graph = mqs.attach("video_pipeline")
    with graph.tap("scale.out", depth=4, policy="drop_oldest") as tap:
        frame = tap.get(timeout=1.0)   # a mqs.Buffer
        image = frame.array            # numpy, read-only, no copy: height x width (x 3)
        print(frame.pts, frame.seq, image.shape)

In a `type: python` block, mqs.block allocates, sends and logs:

    def process(inputs):
        out = mqs.block.alloc("out", like=inputs[0])   # writable, no copy
        numpy.subtract(255, inputs[0].array, out=out.array)
        mqs.block.send("out", out)

See docs/python.md.
"""
from ._mqs import (EOS, Buffer, EndOfStream, Error, Graph, Stopping, Tap, attach, block, runs)  # noqa: F401

__all__ = ["attach", "runs", "block", "Graph", "Tap", "Buffer", "Error", "EndOfStream", "Stopping", "EOS"]
