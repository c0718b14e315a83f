"""Stable codes of whole-file outcomes: why a file was refused, held, marked duplicate or
superseded (quality.file_manifest.reason_code, beside the sentence in `reason`).

The sentence is for the site coordinator and may change wording; the code is for counting,
filtering, alert rules and docs/reasons.md, and never changes meaning. Row codes (parse.*,
pandera.*, gx.*, ... in quality.quarantine.check_name) stay next to the check that raises them;
docs/reasons.md is the one table of both, and tests/quality/test_reason_codes.py keeps the
table and the code base equal.

Naming: `<what>.<problem>`: `name.*` the file name, `inbox.*` an entry not read at all,
`file.*` the file's content as a whole, `snapshot.*` what the manifest decided about a readable
file, `hold.*` held files (the three reasons to hold live in ingest.holds; the release is here).
"""
from __future__ import annotations

# --- the file name (sources.naming, ingest.intake) -------------------------------------------
NAME_NO_EXTENSION = "name.no_extension"
NAME_EXTENSION = "name.extension"
NAME_PATTERN = "name.pattern"
NAME_SITE_CODE = "name.site_code"
NAME_UNKNOWN_SITE = "name.unknown_site"
NAME_UNKNOWN_DOMAIN = "name.unknown_domain"
NAME_DATE_FORMAT = "name.date_format"
NAME_DATE_INVALID = "name.date_invalid"
NAME_FUTURE_DATE = "name.future_date"

# --- inbox entries refused unread (sources.inbox) ----------------------------------------------
INBOX_NAME_NOT_TEXT = "inbox.name_not_text"
INBOX_HIDDEN = "inbox.hidden"
INBOX_BROKEN_LINK = "inbox.broken_link"
INBOX_LINK_OUTSIDE = "inbox.link_outside"
INBOX_FOLDER_LINK = "inbox.folder_link"
INBOX_NOT_REGULAR = "inbox.not_regular"
INBOX_UNREADABLE = "inbox.unreadable"
INBOX_FOLDER_UNREADABLE = "inbox.folder_unreadable"
INBOX_SWAPPED_LINK = "inbox.swapped_link"
INBOX_SWAPPED_NOT_REGULAR = "inbox.swapped_not_regular"

# --- the file's content (sources.csv_lines, header, readers, bounds, xlsx_rows) --------------
FILE_EMPTY = "file.empty"
FILE_NO_ROWS = "file.no_rows"
FILE_DATA_ON_OTHER_SHEET = "file.data_on_other_sheet"
FILE_ENCODING_MISMATCH = "file.encoding_mismatch"        # UTF-8 text at a GB18030 site
FILE_UTF16 = "file.utf16"
FILE_BOM_MISMATCH = "file.bom_mismatch"                  # UTF-8 byte-order mark at a non-UTF-8 site
FILE_UNDECODABLE = "file.undecodable"
FILE_NUL = "file.nul_character"
FILE_BOM_INSIDE = "file.bom_inside"                      # two exports joined
FILE_LINE_TOO_LONG = "file.line_too_long"
FILE_LF_UNQUOTED = "file.lf_unquoted"                    # a LF inside a value of a CR-only file
FILE_CR_UNQUOTED = "file.cr_unquoted"
FILE_UNCLOSED_QUOTE = "file.unclosed_quote"                # a value longer than any export value
FILE_CSV_MALFORMED = "file.csv_malformed"
FILE_HEADER_EMPTY = "file.header_empty"
FILE_HEADER_DUPLICATE = "file.header_duplicate"
FILE_DELIMITER_MISMATCH = "file.delimiter_mismatch"
FILE_NO_HEADER = "file.no_header"
FILE_MISSING_COLUMNS = "file.missing_columns"
FILE_XLSX_UNREADABLE = "file.xlsx_unreadable"
FILE_XLSX_EXPANSION = "file.xlsx_expansion"
FILE_READ_TIMEOUT = "file.read_timeout"
FILE_STORE_FAILED = "file.store_failed"                  # an unexpected error: the warehouse team looks

# --- what the manifest decided about a readable file (ingest.intake, ingest.holds) -----------
SNAPSHOT_DUPLICATE = "snapshot.duplicate"
SNAPSHOT_SUPERSEDED = "snapshot.superseded"
HOLD_RELEASED = "hold.released"                          # a monitor released a held file
