"""Test sink: for every aligned set, writes 'set_pts left_pts right_pts
partial' to params.log, and checks that the arrays are read-only."""
import mqs

MQS_BLOCK = {
    "summary": "log aligned pairs",
    "inputs": ["left", {"name": "right", "format": "gray8"}],
    "aligned": True,
    "params": {"log": {"type": "string"}},
}

log = None


def init(params):
    global log
    log = open(params["log"], "w")


def process(inputs):
    s = mqs.block.input_set()
    left, right = inputs
    try:
        left.array[0, 0] = 1
        writable = "writable"
    except ValueError:
        writable = "read-only"
    log.write(f"{s['pts']} {left.pts if left else '-'} {right.pts if right else '-'} {int(s['partial'])} {writable}\n")


def flush():
    log.close()
