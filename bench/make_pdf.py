#!/usr/bin/env python3
"""Writes a deterministic, valid one-page PDF of an exact size, for the upload benchmark.

The structure is that of build_pdf/sample_pdf in src/applications/pdf.rs: a %PDF-1.7 header,
five objects (catalog, pages, page, content stream, font), a classic xref table with the
right offsets, a trailer, startxref and %%EOF. The size is made up by one PDF comment line
right after the header. Its bytes are pseudo-random (seeded) in 0x80..0xFF: they never form
a newline, a '/' name or a keyword that check_pdf looks at, and, unlike a run of 'x', they do
not compress, so PostgreSQL stores them at full size as it would a real (already
compressed) PDF.

    python3 bench/make_pdf.py --size 2097152 --text "CV de Camille Bench" -o /tmp/cv.pdf
"""

import argparse
import random
import sys


def build(objects, padding):
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    if padding:
        out += b"%" + padding + b"\n"
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for o in offsets:
        out += f"{o:010} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def pdf(text, size, seed):
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    bare = build(objects, b"")
    # The comment line adds 2 bytes ('%' and '\n') plus its padding; the xref offsets are all
    # 10 digits wide, but the startxref number grows by a digit or more: correct for it.
    n = size - len(bare) - 2
    if n < 0:
        sys.exit(f"--size must be at least {len(bare) + 2}")
    n -= len(build(objects, b"x" * n)) - size
    rng = random.Random(seed)
    padding = bytes(0x80 + (b & 0x7F) for b in rng.randbytes(n))
    out = build(objects, padding)
    assert len(out) == size, (len(out), size)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2 * 1024 * 1024, help="exact size in bytes (default 2 MiB)")
    p.add_argument("--text", default="Curriculum vitae", help="the text shown on the page")
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()
    with open(args.output, "wb") as f:
        f.write(pdf(args.text, args.size, args.seed))


if __name__ == "__main__":
    main()
