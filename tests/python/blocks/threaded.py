"""Test sink: a thread started in init() counts ticks every 10 ms while the
block waits for input; flush() writes the count to params.out."""
import threading
import time

MQS_BLOCK = {"inputs": ["in"], "params": {"out": {"type": "string"}}}

ticks = 0
out = None


def tick():
    global ticks
    while True:
        ticks += 1
        time.sleep(0.01)


def init(params):
    global out
    out = params["out"]
    threading.Thread(target=tick, daemon=True).start()


def process(inputs):
    pass


def flush():
    with open(out, "w") as f:
        f.write(str(ticks))
