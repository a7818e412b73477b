#!/usr/bin/python3
"""Tap an output of a running graph and save its frames as images, or print what arrives.

    PYTHONPATH=build/python tools/mqs-tap.py video_pipeline scale.out --frames 10 --save frames/

Frames are saved as PGM (gray8) or PPM (rgb24), which every image viewer opens;
without --save, one line per buffer. Uses only the mqs module and numpy.
"""
import argparse
import os
import sys

import mqs


def save(buf, directory):
    a = buf.array
    if buf.format == "gray8":
        header, ext = b"P5\n%d %d\n255\n" % (buf.width, buf.height), "pgm"
    elif buf.format == "rgb24":
        header, ext = b"P6\n%d %d\n255\n" % (buf.width, buf.height), "ppm"
    else:
        raise SystemExit("mqs-tap: cannot save %s frames as images (gray8 and rgb24 only)" % buf.format)
    path = os.path.join(directory, "frame-%06d.%s" % (buf.seq, ext))
    with open(path, "wb") as f:
        f.write(header)
        f.write(a.tobytes())  # the one copy: from shared memory into the file
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", help="name of a running graph (mqctl ls)")
    p.add_argument("output", help="output to tap, block.port (e.g. scale.out)")
    p.add_argument("--frames", type=int, default=10, help="how many buffers to take (default 10; 0: until the end)")
    p.add_argument("--save", metavar="DIR", help="write each frame as DIR/frame-SEQ.pgm or .ppm")
    p.add_argument("--depth", type=int, default=4, help="tap queue depth (default 4)")
    p.add_argument("--policy", default="drop_oldest", choices=["drop_oldest", "drop_newest", "block"],
                   help="when the tap is full: drop (default drop_oldest, never slows the graph) or block")
    a = p.parse_args()
    try:
        graph = mqs.attach(a.graph)
        with graph.tap(a.output, depth=a.depth, policy=a.policy, name="mqs-tap") as tap:
            if a.save:
                os.makedirs(a.save, exist_ok=True)
            taken = 0
            for buf in tap:
                line = save(buf, a.save) if a.save else repr(buf)
                print(line, flush=True)
                taken += 1
                if a.frames and taken >= a.frames:
                    break
            stats = tap.stats()
            print("took %d; the tap dropped %d while full" % (taken, stats["dropped"]), file=sys.stderr)
    except mqs.Error as e:
        raise SystemExit("mqs-tap: %s" % e)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
