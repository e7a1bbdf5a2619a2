"""Serial numbers read out of an uploaded PDF without parsing it: the public verification page calls this
in the API process, which never imports WeasyPrint (the PDF workers do, registry/attestations/pool.py)."""

import re

# In PDF literal strings a hyphen may be written as the octal escape \055.
# A re-issue adds "-<n>" (PRA-2026-000012-2); a digit right after would make it another serial.
SERIAL = re.compile(rb"PRA(?:-|\\055)(\d{4})(?:-|\\055)(\d{6})(?:(?:-|\\055)([1-9]\d{0,5}))?(?!\d)")


def serials_in(pdf: bytes, limit: int) -> list[str]:
    """The first ``limit`` distinct serial numbers readable in the file's uncompressed parts (metadata,
    signature reason), in the order they appear: a file stuffed with serials costs no more than ``limit``."""
    found: dict[str, None] = {}
    for match in SERIAL.finditer(pdf):
        serial = f"PRA-{match[1].decode()}-{match[2].decode()}"
        found.setdefault(f"{serial}-{match[3].decode()}" if match[3] else serial, None)
        if len(found) >= limit:
            break
    return list(found)
