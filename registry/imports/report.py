"""An import's result as the API answers it: the report, or the 422 that refuses the file."""

from registry.errors import RegistryError, unprocessable
from registry.imports import service
from registry.imports.schemas import ImportReport

MAX_ERRORS_SHOWN = 1000


def report_of(result: service.ImportResult) -> ImportReport:
    return ImportReport.model_validate(
        {
            "dry_run": result.dry_run,
            "committed": result.ok and not result.dry_run,
            "counts": {name: vars(counts) for name, counts in result.counts.items()},
            "errors": [vars(e) for e in result.errors[:MAX_ERRORS_SHOWN]],
        }
    )


def refused(result: service.ImportResult) -> RegistryError:
    """422 problem+json: every error with its sheet, row and column, and nothing written."""
    shown = result.errors[:MAX_ERRORS_SHOWN]
    return unprocessable(
        f"{len(result.errors)} problem(s) in the file; nothing was imported.",
        [service.field_error(e) for e in shown],
        report=report_of(result).model_dump(mode="json"),
        errors_total=len(result.errors),
    )
