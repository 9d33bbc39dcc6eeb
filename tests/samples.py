"""Small documents in every ingest format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path


def pdf_bytes(pages: list[str], title: str = "") -> bytes:
    """A valid PDF with one line of Helvetica text per page (no PDF writer needed)."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font = 3 + 2 * n
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 11 Tf 40 700 Td ({escaped}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Contents {4 + 2 * i} 0 R /Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    info = len(objects) + 1
    objects.append(f"<< /Title ({title}) /CreationDate (D:20240711120000Z) >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def write_docx(path: Path, title: str, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))
    return path


ARTICLE_HTML = """<!doctype html><html><head><title>NATO and Japan deepen ties | Example News</title>
<meta property="og:title" content="NATO and Japan deepen ties">
<meta property="article:published_time" content="2024-07-11"></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/subscribe">Subscribe to our newsletter</a></li></ul></nav>
<article><h1>NATO and Japan deepen ties</h1>
<p>NATO and Japan agreed on a new Individually Tailored Partnership Programme in July 2024.
The programme covers cyber defence, maritime security and space.</p>
<p>The Secretary General welcomed the agreement at the Washington Summit and said that
security in Europe and in the Indo-Pacific is closely connected.</p>
<p>Japanese officials said the programme builds on a decade of cooperation with the Alliance.</p>
</article><footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"""

NAV_ONLY_HTML = """<html><body><nav><a href="/">Home</a> <a href="/x">News</a></nav>
<footer>Copyright</footer></body></html>"""


def rss(items: list[tuple[str, str, str]], extra: str = "") -> bytes:
    """An RSS 2.0 feed of (link, title, description) items plus raw `extra` item XML."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>Thu, 11 Jul 2024 10:00:00 GMT</pubDate></item>"
        for link, t, d in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Partnership wire</title><link>http://example.org/</link>"
        f"<description>news</description>{body}{extra}</channel></rss>"
    ).encode()
