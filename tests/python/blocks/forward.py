"""Test block: forwards every input without a copy and logs each buffer's
seq and ID to params.log, so a test can see the same buffer arrive."""
import mqs

MQS_BLOCK = {
    "summary": "forward without a copy, logging seq and ID",
    "inputs": ["in"],
    "outputs": ["out"],
    "params": {"log": {"type": "string", "default": "", "help": "file for 'seq id' lines"}},
}

log = None


def init(params):
    global log
    log = open(params["log"], "w") if params["log"] else None


def process(inputs):
    if log:
        log.write(f"{inputs[0].seq} {inputs[0].id}\n")
    mqs.block.send("out", inputs[0])


def flush():
    if log:
        log.close()
