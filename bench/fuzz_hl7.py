"""The long fuzz run of the MLLP framer and the HL7 parser: a million inputs or more.

The suite's property tests (tests/formats/hl7v2/test_fuzz.py, hypothesis) run a few
hundred examples in CI; hypothesis is too slow per example for millions. This run mutates
the same valid messages with a plain seeded random generator (bytes inserted, deleted,
replaced, separators and control characters favoured, frames cut at random) and sends each
input the whole way in, as the suite does: ``MllpFramer.feed`` in random chunks, then
``decode``, ``split_batch``, ``parse_message`` and every reader of the message. Anything
but FrameTooLarge, HL7DecodeError and HL7ParseError is a finding: printed with its seed,
and the run exits 1.

    python bench/fuzz_hl7.py --inputs 1000000 [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pacsbridge.formats.hl7v2 import FrameTooLarge, MllpFramer  # noqa: E402
from tests.formats.hl7v2.test_fuzz import INTERESTING, VALID, the_way_in  # noqa: E402


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(0, 8)):
        at = rng.randint(0, len(out))
        byte = rng.choice(INTERESTING) if rng.random() < 0.6 else rng.randint(0, 255)
        operation = rng.random()
        if operation < 0.35:
            out[at:at] = bytes([byte] * rng.randint(1, 4))
        elif operation < 0.7:
            del out[at : at + rng.randint(1, 4)]
        elif at < len(out):
            out[at] = byte
    return bytes(out)


def one(rng: random.Random) -> None:
    if rng.random() < 0.1:
        raw = rng.randbytes(rng.randint(0, 300))  # noise
    else:
        raw = mutate(rng, rng.choice(VALID))
    framer = MllpFramer(max_frame=rng.choice([64, 4096, 1 << 20]))
    framed = b"\x0b" + raw + b"\x1c\x0d"  # by hand: frame() refuses payloads holding 0x0B/0x1C
    stream = rng.randbytes(rng.randint(0, 3)) + framed if rng.random() < 0.5 else raw
    cuts = sorted(rng.randint(0, len(stream)) for _ in range(rng.randint(0, 4)))
    payloads = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        with contextlib.suppress(FrameTooLarge):
            payloads += framer.feed(stream[start:end])
    for payload in [raw, *payloads]:
        the_way_in(payload)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    for n in range(args.inputs):
        try:
            one(rng)
        except Exception:
            print(f"FINDING at input {n} (seed {args.seed}):", file=sys.stderr)
            traceback.print_exc()
            print(f"rerun with --seed {args.seed} to reproduce", file=sys.stderr)
            return 1
        if n and n % 100_000 == 0:
            rate = n / (time.monotonic() - started)
            print(f"{n:>9,} inputs, {rate:,.0f}/s, no finding", flush=True)
    seconds = time.monotonic() - started
    print(f"{args.inputs:,} inputs in {seconds:.0f} s ({args.inputs / seconds:,.0f}/s): "
          f"no error but FrameTooLarge, HL7DecodeError, HL7ParseError")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
