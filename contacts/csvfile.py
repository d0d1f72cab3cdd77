"""Reading a tenant's CSV file: what it is (encoding, delimiter, header, a preview) and its rows,
streamed with the byte offset of every row so an interrupted import resumes exactly there.

The file is never read whole: lines come from a buffered binary reader, at most
`MAX_LINE_BYTES` at a time, and each is decoded on its own. UTF-8, Windows-1252 and Latin-1 are
all ASCII-compatible, so a newline byte is a newline in every encoding we accept and the byte
offset after a row is a safe place to start reading again.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from prixagent.errors import ApplicationError

SAMPLE_BYTES = 64 * 1024
MAX_LINE_BYTES = 1024 * 1024  # one physical line; past it the row is refused and skipped
MAX_COLUMNS = 200
MAX_CELL = 1000  # characters in one cell
PREVIEW_ROWS = 5
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# A cell bigger than this makes the csv module raise instead of growing without bound.
csv.field_size_limit(MAX_LINE_BYTES)

BINARY_SIGNATURES = {
    b"PK\x03\x04": gettext_noop("an Excel workbook or a ZIP archive"),
    b"\xd0\xcf\x11\xe0": gettext_noop("an old Excel (.xls) workbook"),
    b"%PDF": gettext_noop("a PDF"),
    b"\x89PNG": gettext_noop("a PNG image"),
    b"\xff\xd8\xff": gettext_noop("a JPEG image"),
    b"GIF8": gettext_noop("a GIF image"),
}


def file_error(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_file", fields={"file": [message]})


@dataclass
class FileInfo:
    encoding: str  # "utf-8-sig", "utf-8", "cp1252" or "latin-1"
    delimiter: str
    header: list[str]
    preview: list[list[str]]
    data_offset: int  # byte offset of the first row after the header
    data_row: int  # the record number of that row (the header is row 1)


class RowTooLarge(Exception):
    """A physical line longer than MAX_LINE_BYTES (raised through csv.reader, then skipped)."""


class LineSource:
    """Decoded lines of a binary file, with the byte position after the last one returned.

    An iterator class, not a generator: it raises `RowTooLarge` through csv.reader and keeps
    going afterwards (a generator is finished once it raises). A line that is not valid in the
    file's encoding is decoded as Windows-1252, so a UTF-8 file with one line saved by an old
    tool loses nothing.
    """

    def __init__(self, stream: BinaryIO, encoding: str, position: int = 0) -> None:
        self.readline = stream.readline
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.position = position
        self.fallback_lines = 0

    def __iter__(self) -> LineSource:
        return self

    def __next__(self) -> str:
        raw = self.readline(MAX_LINE_BYTES)
        if not raw:
            raise StopIteration
        self.position += len(raw)
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            self._skip_rest_of_line()
            raise RowTooLarge
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            self.fallback_lines += 1
            return raw.decode("cp1252", "replace")

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self.readline(MAX_LINE_BYTES)
            self.position += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return


@dataclass
class Record:
    number: int  # the row number a spreadsheet shows (header = 1)
    cells: list[str] | None  # None: the row could not be read (`problem` says why)
    problem: str = ""
    end_offset: int = 0  # byte offset just after this row


def iter_records(path: Path, *, encoding: str, delimiter: str, offset: int, first_row: int) -> Iterator[Record]:
    """Every record from `offset` on, numbered from `first_row`, blank lines included (as [])."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        lines = LineSource(stream, encoding, position=offset)
        reader = csv.reader(lines, delimiter=delimiter, strict=False)
        number = first_row
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except RowTooLarge:
                yield Record(number, None, _("The row is larger than 1 MB."), lines.position)
            except csv.Error as exc:
                yield Record(
                    number, None, _("The row could not be read as CSV (%(error)s).") % {"error": exc}, lines.position
                )
            else:
                yield Record(number, cells, "", lines.position)
            number += 1


# --- what the file is --------------------------------------------------------------------------


def _refuse_binary(sample: bytes) -> None:
    for signature, what in BINARY_SIGNATURES.items():
        if sample.startswith(signature):
            raise file_error(
                _("This file is %(what)s, not a CSV file. Save it as CSV and upload that.") % {"what": _(what)}
            )
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise file_error(_("This file is UTF-16 text. Save it as “CSV UTF-8” and upload that."))
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 100:
        raise file_error(_("This looks like a binary file, not a CSV file."))


def detect_encoding(sample: bytes, at_eof: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=at_eof)  # a sample cut inside a character is not an error
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Windows-1252 leaves five bytes undefined; a file using them can only be Latin-1.
    return "latin-1" if any(b in sample for b in b"\x81\x8d\x8f\x90\x9d") else "cp1252"


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same, largest number of columns."""
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        width, agreeing = Counter(counts).most_common(1)[0]
        score = (agreeing if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header_names(cells: list[str]) -> list[str]:
    """Trimmed names; blank ones become "Column N"; repeats get " (2)", " (3)"."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for index, cell in enumerate(cells, start=1):
        name = " ".join(cell.split())[:100] or _("Column %(n)d") % {"n": index}
        seen[name.lower()] += 1
        names.append(name if seen[name.lower()] == 1 else f"{name} ({seen[name.lower()]})")
    return names


def inspect_file(path: Path) -> FileInfo:
    """Encoding, delimiter, header and the first rows, or a clear `file_error`."""
    size = path.stat().st_size
    if size == 0:
        raise file_error(_("The file is empty."))
    with open(path, "rb") as stream:
        sample = stream.read(SAMPLE_BYTES)
    _refuse_binary(sample)
    encoding = detect_encoding(sample, at_eof=len(sample) == size)
    start = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    text = sample[start:].decode("utf-8" if encoding == "utf-8-sig" else encoding, "ignore")
    sample_lines = text.splitlines(keepends=True)
    if len(sample) < size and len(sample_lines) > 1:
        sample_lines = sample_lines[:-1]  # the last one may be cut short
    delimiter = detect_delimiter(sample_lines[:20])
    records = iter_records(path, encoding=encoding, delimiter=delimiter, offset=start, first_row=1)
    header_record = next((r for r in records if r.cells is None or any(c.strip() for c in r.cells)), None)
    if header_record is None:
        raise file_error(_("The file has no text in it."))
    if header_record.cells is None:
        raise file_error(_("The first row could not be read: %(problem)s") % {"problem": header_record.problem})
    if len(header_record.cells) > MAX_COLUMNS:
        raise file_error(
            _("The file has %(n)s columns; at most %(max)d are supported.")
            % {"n": f"{len(header_record.cells):,}", "max": MAX_COLUMNS}
        )
    if any(len(cell) > MAX_CELL for cell in header_record.cells):
        raise file_error(_("The first row must be the column names, and one of them is far too long."))
    preview: list[list[str]] = []
    for record in records:
        if record.cells is not None and not any(c.strip() for c in record.cells):
            continue
        preview.append([c[:200] for c in (record.cells or [])[:MAX_COLUMNS]])
        if len(preview) == PREVIEW_ROWS:
            break
    if not preview:
        raise file_error(_("The file has a header row but no contacts under it."))
    return FileInfo(
        encoding,
        delimiter,
        _header_names(header_record.cells),
        preview,
        header_record.end_offset,
        header_record.number + 1,
    )
