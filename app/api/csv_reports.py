"""Analytics reports as CSV: which format a request asks for, and the CSV answer itself."""

import csv
import io

from fastapi import Response

from app.schemas.analytics import ReportFormat
from app.services.analytics_export import ReportTable

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# A cell a spreadsheet would read as a formula (CSV injection, OWASP) is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(requested: ReportFormat | None, accept: str | None) -> bool:
    """`format` decides when given; else `Accept` names text/csv at least as strongly as application/json."""
    if requested is not None:
        return requested is ReportFormat.CSV
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = max(weight, weights.get(media_type.lower(), 0.0))
    csv_weight = weights.get("text/csv", 0.0)
    return csv_weight > 0 and csv_weight >= weights.get("application/json", 0.0)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _stamp(table: ReportTable) -> tuple[str, str]:
    return table.start.strftime("%Y%m%dT%H%M%SZ"), table.end.strftime("%Y%m%dT%H%M%SZ")


def csv_response(table: ReportTable) -> Response:
    """A header row, then one row per point or item, CRLF line ends (RFC 4180), as an attachment."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    start, end = _stamp(table)
    headers = {
        "Content-Disposition": f'attachment; filename="{table.report.value}_{start}_{end}.csv"',
        "X-Data-As-Of": table.data_as_of.isoformat().replace("+00:00", "Z"),
    }
    return Response(buffer.getvalue(), media_type=CSV_MEDIA_TYPE, headers=headers)
