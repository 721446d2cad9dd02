"""Write the fuzzer's seed corpus from the shared vectors: `python3 firmware/scripts/seed_corpus.py`.

Each seed is fuzz_stream's 6-byte setup (the vectors' 4x3 display, max_body 256, the vector's
encodings: RUNS, COPY and LZ4 are bits 1, 2 and 4 of the setup byte; pieces of 7 bytes) followed by a
vector's stream, named after the vector.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "firmware" / "test" / "fuzz_corpus"


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    vectors = json.loads((ROOT / "tests" / "vectors" / "device_stream.json").read_text())
    for v in vectors:
        offer = v["encodings"] & 0b111 | (0x10 if v["encodings"] & 0b1000 else 0)  # LZ4 (mask bit 3) is bit 4
        setup = bytes([v["width"] - 1, v["height"] - 1, v["max_body"] & 0xFF, v["max_body"] >> 8, offer, 6])
        (CORPUS / f"vector_{v['name']}").write_bytes(setup + bytes.fromhex(v["hex"]))
    print(f"wrote {len(vectors)} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
