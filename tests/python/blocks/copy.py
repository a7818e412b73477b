"""Test block: copies every frame into a buffer it allocates (numpy, in
shared memory) and sends that."""
import numpy as np

import mqs

MQS_BLOCK = {"summary": "copy each frame", "inputs": ["in"], "outputs": ["out"]}


def process(inputs):
    frame = inputs[0]
    out = mqs.block.alloc("out", like=frame)
    np.copyto(out.array, frame.array)
    mqs.block.send(0, out)
