"""Bounds on an XLSX archive, checked before openpyxl reads it: inflated sizes and shared strings.

openpyxl keeps every shared string in memory before the first row is read, and a small file can hold
millions of them under any plain size check. Here every part is inflated in chunks, scanned and
dropped, so a hostile file costs no more than the first limit it passes.
"""

import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from registry.errors import RegistryError, invalid
from registry.settings import Settings

CHUNK = 1024 * 1024
MAX_PARTS = 1000  # a workbook has a few dozen; the list of parts is itself held in memory
MiB = 1024 * 1024


@dataclass(frozen=True)
class WorkbookLimits:
    """How far an XLSX workbook may inflate before it is refused (docs/imports.md)."""

    inflated_bytes: int = 200 * MiB
    part_bytes: int = 64 * MiB
    shared_strings_bytes: int = 32 * MiB
    shared_strings: int = 500_000

    @classmethod
    def of(cls, settings: Settings) -> "WorkbookLimits":
        return cls(
            inflated_bytes=settings.import_max_inflated_bytes,
            part_bytes=settings.import_max_part_bytes,
            shared_strings_bytes=settings.import_max_shared_strings_bytes,
            shared_strings=settings.import_max_shared_strings,
        )


def refuse(rule: str, message: str) -> RegistryError:
    return invalid("file", rule, message)


class _Scan:
    """Streams one XML part through expat: counts its shared strings, refuses a DTD."""

    def __init__(self, name: str, limits: WorkbookLimits, strings_before: int):
        self.name, self.limits = name, limits
        self.strings = strings_before  # over the whole archive: the limit is on what openpyxl keeps
        self.holds_strings = False
        self.readable = True
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.start
        # Entities can expand into markup nothing here counted; no genuine workbook has a DTD.
        self.parser.StartDoctypeDeclHandler = self.doctype

    def doctype(self, *_) -> None:
        raise refuse("dtd", f"{self.name} declares a DTD; a workbook has none")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if local == "sst":
            self.holds_strings = True
            # Stated counts can lie (the scan counts anyway), but a stated excess is refused at once.
            for attribute in ("count", "uniqueCount"):
                stated = attrs.get(attribute, "")
                if stated.isdigit() and int(stated) > self.limits.shared_strings:
                    raise self.too_many()
        elif local == "si":
            self.holds_strings = True
            self.strings += 1
            if self.strings > self.limits.shared_strings:
                raise self.too_many()

    def too_many(self) -> RegistryError:
        return refuse(
            "too_many_shared_strings",
            f"{self.name} holds more than {self.limits.shared_strings} shared strings "
            "(REGISTRY_IMPORT_MAX_SHARED_STRINGS)",
        )

    def feed(self, chunk: bytes) -> None:
        if not self.readable:
            return
        try:
            self.parser.Parse(chunk, False)
        except expat.ExpatError:
            self.readable = False  # not XML (an image), or broken: openpyxl stops at the same place


def _check_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: WorkbookLimits, seen: list[int]):
    """Inflate one part chunk by chunk; ``seen`` is [bytes, shared strings] so far in the archive."""
    scan, size = _Scan(info.filename, limits, seen[1]), 0
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if seen[0] + size > limits.inflated_bytes:
                raise refuse(
                    "too_large",
                    f"the workbook inflates beyond {limits.inflated_bytes} bytes "
                    "(REGISTRY_IMPORT_MAX_INFLATED_BYTES)",
                )
            scan.feed(chunk)
            if scan.holds_strings and size > limits.shared_strings_bytes:
                raise refuse(
                    "shared_strings_too_large",
                    f"{info.filename} inflates beyond {limits.shared_strings_bytes} bytes "
                    "(REGISTRY_IMPORT_MAX_SHARED_STRINGS_BYTES)",
                )
            if size > limits.part_bytes:
                raise refuse(
                    "part_too_large",
                    f"{info.filename} inflates beyond {limits.part_bytes} bytes (REGISTRY_IMPORT_MAX_PART_BYTES)",
                )
    seen[0] += size
    seen[1] = scan.strings


def check_workbook(archive: zipfile.ZipFile, limits: WorkbookLimits) -> None:
    """Refuse (422, naming the limit) a workbook past any limit, inflating at most a chunk past it.
    zipfile raises BadZipFile for a part whose size or checksum is not what the archive says."""
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise refuse("too_many_parts", f"the workbook has more than {MAX_PARTS} parts")
    if sum(info.file_size for info in parts) > limits.inflated_bytes:  # as stated: refused unopened
        raise refuse(
            "too_large",
            f"the workbook inflates beyond {limits.inflated_bytes} bytes (REGISTRY_IMPORT_MAX_INFLATED_BYTES)",
        )
    seen = [0, 0]
    for info in parts:
        _check_part(archive, info, limits, seen)
