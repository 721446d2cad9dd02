"""Big pictures between processes of one machine through shared memory: ZeroMQ carries a reference.

A 1920x1080 capture is 6.2 MB. Through gather_frames to a color worker it crossed two sockets: four
copies through the kernel, ~7 ms of CPU a picture on the cores the color work needs. A source on this
machine instead writes each picture of SHARED_MIN_BYTES or more into the next slot of a ring in
/dev/shm that it owns (`PictureRing`) and sends [header, SHARED, reference]; gather_frames forwards
the reference; the worker corrects the pixels where they lie (`shared_pixels`). A slot is written
again RING_SLOTS pictures later. Each slot starts with a generation counter, odd while it is being
written, and the reference names the generation it was sent with: a worker that finds it changed
before or after correcting (a picture that waited in queues that long) drops the picture as `torn`.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

from common.frame_header import SchemaError

SHARED_MIN_BYTES = 1 << 20  # smaller pictures go inline: a copy costs less than the bookkeeping
RING_SLOTS = 8
REFERENCE = struct.Struct("<40sQQ")  # segment name (NUL-padded), offset of the slot's generation, generation
GENERATION = struct.Struct("<Q")
_NAME = re.compile(r"tftstream-[0-9]+-[0-9a-f]{12}")  # a worker opens only rings a FrameSender made
ATTACHED_MAX = 8  # rings a worker keeps open: sources that restarted leave theirs behind
_OWN: set[str] = set()  # rings this process made (a test, or a source reading its own)


def room_for(slot_bytes: int) -> bool:
    """Whether /dev/shm has room for a ring of such slots, twice over: a tmpfs that fills up kills
    the writer with SIGBUS (Docker gives 64 MB by default), so a source that finds too little sends inline."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize >= 2 * RING_SLOTS * (slot_bytes + 64)


class PictureRing:
    """A source's ring of RING_SLOTS slots of `slot_bytes` in /dev/shm; unlinked by `close` (and by
    multiprocessing's resource tracker if the process dies first)."""

    def __init__(self, slot_bytes: int, pid: int) -> None:
        self.slot_bytes = slot_bytes
        self.stride = GENERATION.size + -(-slot_bytes // 64) * 64
        name = f"tftstream-{pid}-{uuid.uuid4().hex[:12]}"
        self.memory = SharedMemory(name, create=True, size=RING_SLOTS * self.stride)
        self.buffer = _buffer(self.memory)
        _OWN.add(name)
        self.next = 0  # a new segment is zeroed: every slot at generation 0

    def put(self, pixels: bytes | memoryview) -> bytes:
        """Write a picture (its bytes, or a contiguous buffer of them) into the next slot; its reference."""
        pixels = memoryview(pixels).cast("B")
        offset = self.next % RING_SLOTS * self.stride
        self.next += 1
        generation = GENERATION.unpack_from(self.buffer, offset)[0] + 2
        GENERATION.pack_into(self.buffer, offset, generation - 1)  # odd: being written
        start = offset + GENERATION.size
        self.buffer[start : start + len(pixels)] = pixels
        GENERATION.pack_into(self.buffer, offset, generation)
        return REFERENCE.pack(self.memory.name.encode(), offset, generation)

    def close(self) -> None:
        self.memory.close()  # releases `buffer` (the same view)
        self.memory.unlink()


class _Attached:
    """The rings this process reads from, newest last."""

    rings: OrderedDict[str, SharedMemory] = OrderedDict()

    @classmethod
    def ring(cls, name: str) -> SharedMemory:
        memory = cls.rings.get(name)
        if memory is None:
            memory = cls.rings[name] = _attach(name)
            while len(cls.rings) > ATTACHED_MAX:
                _, oldest = cls.rings.popitem(last=False)
                with contextlib.suppress(BufferError):  # a picture from it is still being read
                    oldest.close()
        cls.rings.move_to_end(name)
        return memory


def _attach(name: str) -> SharedMemory:
    try:
        if sys.version_info >= (3, 13):
            return SharedMemory(name, track=False)  # type: ignore[call-arg]
        memory = SharedMemory(name)
    except FileNotFoundError:
        raise SchemaError("bad_shared", f"no shared picture ring {name!r}: its source is gone") from None
    if name not in _OWN:  # before 3.13 attaching registers the ring: this process's exit would unlink it
        resource_tracker.unregister(memory._name, "shared_memory")  # type: ignore[attr-defined]
    return memory


def shared_pixels(reference: bytes, nbytes: int) -> tuple[memoryview, Callable[[], bool]]:
    """The `nbytes` of pixels a reference names, where they lie, and whether they are still those
    (False once the source wrote that slot again: whatever was made from them is torn)."""
    if len(reference) != REFERENCE.size:
        raise SchemaError("bad_shared", f"a {len(reference)}-byte reference, expected {REFERENCE.size}")
    raw_name, offset, generation = REFERENCE.unpack(reference)
    name = raw_name.rstrip(b"\0").decode("ascii", "replace")
    if not _NAME.fullmatch(name):
        raise SchemaError("bad_shared", f"{name!r} is not a tftstream picture ring")
    memory = _Attached.ring(name)
    buffer = _buffer(memory)
    if offset + GENERATION.size + nbytes > memory.size:
        raise SchemaError("bad_shared", f"{nbytes} bytes at {offset} of a {memory.size}-byte ring")

    def intact() -> bool:
        return GENERATION.unpack_from(buffer, offset)[0] == generation

    if not intact():
        raise SchemaError("torn", f"slot at {offset} of {name} was written again before it was read")
    start = offset + GENERATION.size
    return buffer[start : start + nbytes], intact


def _buffer(memory: SharedMemory) -> memoryview:
    assert memory.buf is not None, "closed"
    return memory.buf


def same_machine(endpoint: str) -> bool:
    """Whether a ZeroMQ endpoint is on this machine, where a reader can open our shared memory."""
    host = endpoint.split("://", 1)[-1].rsplit(":", 1)[0]
    return endpoint.startswith(("ipc://", "inproc://")) or host in ("127.0.0.1", "localhost", "[::1]")
