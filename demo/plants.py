"""What the load must handle, planted into the rows: corrections, deletions, bad rows,
identifying columns, a text date cell; `PlantLog` records where each occurrence landed
(HOME/truth/planted.json) so tests can check the warehouse refused exactly those rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from demo.conventions import Site
from demo.plans import SubjectPlan
from demo.rows import Row


@dataclass
class PlantLog:
    """planted.json: what was planted where, with the file and row of every occurrence."""
    items: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, item_id: str, **info: object) -> str:
        self.items[item_id] = {"id": item_id, **info}
        return item_id

    def seen(self, item_id: str, role: str, file: str, row: int) -> None:
        self.items[item_id].setdefault(f"{role}_in", []).append({"file": file, "row": row})

    def written(self) -> list[dict[str, object]]:
        """Only what actually reached a file (a final-only cohort has no corrections)."""
        return [i for i in self.items.values() if any(k.endswith("_in") for k in i)]


@dataclass
class Planter:
    """Plants, once per site, the situations a load must handle (site-exports.md §1-§2), on the
    first ordinary subject that can carry each of them without changing any endpoint."""
    site: Site
    calendar: list[date]                       # every month-end export of the history
    log: PlantLog
    done: set[str] = field(default_factory=set)

    def _id(self, kind: str) -> str:
        return f"{self.site.code}:{kind}"

    def apply(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> None:
        if plan.case or not plan.treated or plan.status[-1][0] != "on_treatment":
            return
        if plan.anchor > self.calendar[0] - timedelta(days=20):
            return
        kind = self.site.convention.kind
        planters = {"PKUPH": (self.plt_typo, self.deleted_lab_row, self.invalid_date, self.unknown_unit),
                    "RJH": (self.implausible_hgb, self.deleted_ae, self.text_date_cell),
                    "WCH": (self.non_numeric_then_fixed, self.hemolysed)}[kind]
        for planter in planters:
            name = planter.__name__
            if name not in self.done and planter(plan, rows):
                self.done.add(name)

    # --- PKUPH ---------------------------------------------------------------------------
    def plt_typo(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Correction: a PLT typed ten times too high, fixed in the final export."""
        if len(self.calendar) < 2:
            return False
        for row in rows["labs"]:
            v = row.values
            if (v["test_code"] == "PLT" and plan.anchor < v["sample_date"] <= self.calendar[0]
                    and int(v["value"]) <= 150):
                item = self.log.add(self._id("correction"), kind="correction", site=self.site.code, domain="labs",
                                    subject_id=plan.subject_id, test_code="PLT",
                                    sample_date=v["sample_date"].isoformat(), column="value",
                                    before=str(int(v["value"]) * 10), after=v["value"],
                                    note="a PLT typo (x10) in earlier exports, corrected in the final one")
                typo = Row("labs", {**v, "value": str(int(v["value"]) * 10)}, row.known, until=self.calendar[-2],
                           plant=(item, "before"))
                row.known, row.plant = self.calendar[-1], (item, "after")
                rows["labs"].insert(rows["labs"].index(row), typo)
                return True
        return False

    def deleted_lab_row(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Deletion: a PLT entered on a wrong date, removed by the site in the final export."""
        if len(self.calendar) < 2:
            return False
        dates = {r.values["sample_date"] for r in rows["labs"]}
        for row in rows["labs"]:
            d = row.values["sample_date"] + timedelta(days=2)
            if (row.values["test_code"] == "PLT" and plan.anchor < d <= self.calendar[0] and d not in dates):
                item = self.log.add(self._id("deletion"), kind="deletion", site=self.site.code, domain="labs",
                                    subject_id=plan.subject_id, test_code="PLT", sample_date=d.isoformat(),
                                    note="present up to the previous export, deleted at the site in the final one")
                rows["labs"].append(Row("labs", {**row.values, "sample_date": d}, d, until=self.calendar[-2],
                                        plant=(item, "deleted")))
                return True
        return False

    def _extra_lab(self, plan: SubjectPlan, rows: dict[str, list[Row]], test: str, when: date, kind: str,
                   check: str, reason: str, known: date | None = None, value: str | None = None,
                   **cells: str) -> bool:
        """A bad lab row on a test and date the subject has no other result for, and of a test
        it has other results of: quarantining it changes no endpoint. `cells` are written
        verbatim; `value` is written as the site writes numbers."""
        taken = {(r.values["test_code"], r.values["sample_date"]) for r in rows["labs"]}
        template = next((r for r in rows["labs"] if r.values["test_code"] == test), None)
        if template is None or (test, when) in taken or when <= plan.anchor:
            return False
        item = self.log.add(self._id(kind), kind="bad_row", site=self.site.code, domain="labs",
                            subject_id=plan.subject_id, test_code=test, expected_check=check, reason=reason,
                            cells={**cells, **({"value": value} if value else {})})
        values = {**template.values, "sample_date": when, **({"value": value} if value else {})}
        rows["labs"].append(Row("labs", values, known or when, raw=dict(cells) or None, bad=True,
                                plant=(item, "bad")))
        return True

    def invalid_date(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "ALT", self.calendar[0] - timedelta(days=3), "invalid_date", "parse.date",
                               "sample_date 31.02.2021 is not a calendar date", known=self.calendar[0],
                               sample_date="31.02.2021")

    def unknown_unit(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        when = self.calendar[max(0, len(self.calendar) - 3)] - timedelta(days=4)
        return self._extra_lab(plan, rows, "TBIL", when, "unknown_unit", "unit.unknown",
                               "TBIL in mg/L is not an accepted unit", unit="mg/L")

    # --- RJH -----------------------------------------------------------------------------
    def implausible_hgb(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "HGB", self.calendar[-1] - timedelta(days=6), "implausible_value",
                               "gx.plausibility", "HGB 900 g/L is outside the plausibility limits", value="900")

    def deleted_ae(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Deletion: an AE entered for the wrong subject, removed after a few exports."""
        if len(self.calendar) < 2:
            return False
        onset = self.calendar[0] - timedelta(days=10)
        if onset <= plan.anchor or any(r.values["onset_date"] == onset for r in rows["adverse_events"]):
            return False
        until = self.calendar[min(2, len(self.calendar) - 2)]
        item = self.log.add(self._id("deletion"), kind="deletion", site=self.site.code, domain="adverse_events",
                            subject_id=plan.subject_id, ae_term="Headache", onset_date=onset.isoformat(),
                            note=f"present up to the export of {until.isoformat()}, deleted afterwards")
        rows["adverse_events"].append(Row("adverse_events", {
            "site_id": self.site.code, "subject_id": plan.subject_id, "ae_term": "Headache", "onset_date": onset,
            "resolution_date": onset + timedelta(days=2), "ctcae_grade": 1, "serious": "N", "related": "N"},
            onset, until=until, plant=(item, "deleted")))
        return True

    def text_date_cell(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Valid, not bad: an xlsx date typed as text in the site's date format (§2)."""
        if "labs" not in self.site.convention.xlsx_domains:
            return False
        for row in rows["labs"]:
            if row.values["test_code"] == "ALT" and row.values["sample_date"] > plan.anchor:
                text = row.values["sample_date"].strftime(self.site.convention.date_format)
                item = self.log.add(self._id("text_date"), kind="xlsx_text_date", site=self.site.code,
                                    domain="labs", subject_id=plan.subject_id, test_code="ALT", cell=text,
                                    note="a text cell in the site's date format: must load like a date cell")
                row.raw, row.plant = {"sample_date": text}, (item, "valid")
                return True
        return False

    # --- WCH -----------------------------------------------------------------------------
    def hemolysed(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "AST", self.calendar[-1] - timedelta(days=2), "non_numeric_value",
                               "parse.number", "AST value 'hemolysed' is not a number", value="hemolysed")

    def non_numeric_then_fixed(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """A PLT with a letter O for a zero in one export, fixed in the next: its site query
        opens, then resolves."""
        if len(self.calendar) < 3:
            return False
        for row in rows["labs"]:
            v = row.values
            if v["test_code"] == "PLT" and self.calendar[0] < v["sample_date"] <= self.calendar[1]:
                typo = v["value"].replace("0", "O", 1)
                item = self.log.add(self._id("fixed_bad_row"), kind="bad_row_fixed_later", site=self.site.code,
                                    domain="labs", subject_id=plan.subject_id, test_code="PLT",
                                    sample_date=v["sample_date"].isoformat(), expected_check="parse.number",
                                    before=typo, after=v["value"],
                                    note="non-numeric in one export, corrected in the next")
                rows["labs"].insert(rows["labs"].index(row), Row(
                    "labs", dict(v), row.known, until=self.calendar[1], raw={"value": typo}, bad=True,
                    plant=(item, "bad")))
                row.known, row.plant = self.calendar[2], (item, "after")
                return True
        return False
