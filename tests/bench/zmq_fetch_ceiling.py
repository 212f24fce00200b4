"""The ceiling of a transfer from loadsim's sending side: libzmq pulling a file from libzmq
(Debian's python3-zmq both sides, two processes, tcp loopback), as the file queue does it: a
ROUTER sends FETCH offset length, up to 10 in flight, a DEALER answers CHUNK offset bytes from
memory (as loadsim does, memoryview, copy=False), until every byte has come.

zmq_fetch_ceiling.py MIB

Prints one JSON line: MiB/s for 64 KiB, 1 MiB and 4 MiB FETCHes (the median of three).
"""
import json
import multiprocessing
import os
import sys
import time

import zmq

CREDIT = 10


def sender(endpoint, data):
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.connect(endpoint)
    s.send_multipart([b"HELLO", b"1"])
    view = memoryview(data)
    while True:
        frames = s.recv_multipart()
        if frames[0] == b"DONE":
            break
        offset, length = int(frames[1]), int(frames[2])
        s.send_multipart([b"CHUNK", frames[1], view[offset:offset + length]], copy=False)
    s.close()
    ctx.term()


def pull(size, chunk):
    ctx = zmq.Context()
    r = ctx.socket(zmq.ROUTER)
    port = r.bind_to_random_port("tcp://127.0.0.1")
    data = os.urandom(size)
    p = multiprocessing.Process(target=sender, args=(f"tcp://127.0.0.1:{port}", data))
    p.start()
    peer, _, _ = r.recv_multipart()
    start = time.perf_counter()
    offset = 0
    received = 0
    in_flight = 0
    while received < size:
        while in_flight < CREDIT and offset < size:
            length = min(chunk, size - offset)
            r.send_multipart([peer, b"FETCH", str(offset).encode(), str(length).encode()])
            offset += length
            in_flight += 1
        _, _, _, body = r.recv_multipart(copy=False)
        received += len(body.buffer)
        in_flight -= 1
    elapsed = time.perf_counter() - start
    r.send_multipart([peer, b"DONE"])
    p.join()
    r.close()
    ctx.term()
    return size / elapsed / 1048576


def main():
    size = int(sys.argv[1]) << 20
    out = {}
    for name, chunk in [("64 KiB", 65536), ("1 MiB", 1 << 20), ("4 MiB", 4 << 20)]:
        rates = sorted(pull(size, chunk) for _ in range(3))
        out[name] = round(rates[1], 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
