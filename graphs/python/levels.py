"""A Python block: stretch the levels of a gray8 video with numpy.

Levels at or below `black` become 0, at or above `white` 255, and the rest
are spread between them. The input frame is read and the output frame
written in place in shared memory: numpy sees both without a copy.
"""
import numpy as np

import mqs

MQS_BLOCK = {
    "summary": "stretch gray levels: black..white becomes 0..255",
    "inputs": [{"name": "in", "format": "gray8"}],
    "outputs": [{"name": "out"}],  # carries what the input carries
    "params": {
        "black": {"type": "int", "default": 32, "min": 0, "max": 254, "help": "this level and below become 0"},
        "white": {"type": "int", "default": 224, "min": 1, "max": 255, "help": "this level and above become 255"},
    },
}

lut = None


def init(params):
    global lut
    black, white = params["black"], params["white"]
    if white <= black:
        raise ValueError(f"white ({white}) must be above black ({black})")
    levels = (np.arange(256, dtype=np.float64) - black) * 255.0 / (white - black)
    lut = np.clip(levels, 0, 255).astype(np.uint8)


def process(inputs):
    frame = inputs[0]
    out = mqs.block.alloc("out", like=frame)
    np.take(lut, frame.array, out=out.array)
    mqs.block.send("out", out)
