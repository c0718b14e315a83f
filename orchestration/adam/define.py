"""define.xml (Define-XML 2.1) built with odmlib from the models' metadata and the written
data, validated against the Define-XML 2.1 XSD that odmlib ships, and define.html rendered
from it with the CDISC define2-1.xsl stylesheet that defineutils ships. Nothing is
downloaded: both packages carry their schema and stylesheet."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import odmlib.define_2_1.model as DEFINE
import pandas as pd
from defineutils.definehtml import DefineHtml
from odmlib.odm_parser import ODMSchemaValidator

from orchestration.adam.metadata import Dataset, Variable

ADAMIG = "STD.ADAMIG.1.3"


class DefineError(RuntimeError):
    """define.xml is not valid against the Define-XML 2.1 schema, or could not be rendered."""


@dataclass(frozen=True)
class WrittenDataset:
    dataset: Dataset
    frame: pd.DataFrame
    file_name: str              # adsl.xpt, or adae.parquet when the XPT was withheld
    comment: str | None = None  # why not XPT


def _text(text: str) -> DEFINE.Description:
    return DEFINE.Description(TranslatedText=[DEFINE.TranslatedText(_content=text, lang="en")])


def _numeric_shape(values: pd.Series) -> tuple[str, int | None, int | None]:
    """(DataType, Length, SignificantDigits) of a numeric variable's values."""
    numbers = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if numbers.empty or (numbers == numbers.round()).all():
        longest = max((len(str(int(x))) for x in numbers), default=1)
        return "integer", longest, None
    digits = 1
    for x in numbers:
        text = repr(float(x))
        if "e" not in text and "." in text:
            digits = max(digits, len(text.split(".")[1].rstrip("0")))
    digits = min(digits, 15)
    longest = max(len(str(int(abs(x)))) for x in numbers) + digits + 2
    return "float", longest, digits


def _item_def(ds: Dataset, v: Variable, frame: pd.DataFrame, methods: list, codelists: list) -> DEFINE.ItemDef:
    oid = f"IT.{ds.name}.{v.name}"
    values = frame[v.name] if v.name in frame.columns else pd.Series(dtype=object)
    if v.type == "Char":
        longest = max((len(str(x).encode("utf-8")) for x in values.dropna()), default=1)
        data_type, length, digits = "text", max(longest, 1), None
    elif v.is_date:
        data_type, length, digits = "integer", 8, None
    else:
        data_type, length, digits = _numeric_shape(values)
    item = DEFINE.ItemDef(OID=oid, Name=v.name, DataType=data_type, Length=length, SASFieldName=v.name)
    if digits is not None:
        item.SignificantDigits = digits
    if v.format:
        item.DisplayFormat = v.format
    item.Description = _text(v.label)
    if v.origin == "Derived":
        item.Origin = [DEFINE.Origin(Type="Derived")]
        methods.append(DEFINE.MethodDef(OID=f"MT.{ds.name}.{v.name}", Name=f"Algorithm for {ds.name}.{v.name}",
                                        Type="Computation", Description=_text(v.description)))
    else:
        item.Origin = [DEFINE.Origin(Type=v.origin, Description=_text(v.description))]
    if v.values:
        cl_oid = f"CL.{ds.name}.{v.name}"
        cl_type = "text" if v.type == "Char" else "integer"
        codelists.append(DEFINE.CodeList(
            OID=cl_oid, Name=f"{ds.name} {v.name}", DataType=cl_type,
            EnumeratedItem=[DEFINE.EnumeratedItem(CodedValue=value, OrderNumber=i)
                            for i, value in enumerate(v.values, start=1)]))
        item.CodeListRef = DEFINE.CodeListRef(CodeListOID=cl_oid)
    return item


def build_define(study_id: str, written: list[WrittenDataset], as_of: datetime | None) -> DEFINE.ODM:
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat()
    odm = DEFINE.ODM(FileOID=f"DEFINE.{study_id}.ADAM", CreationDateTime=now, ODMVersion="1.3.2",
                     FileType="Snapshot", Originator="itp-warehouse", SourceSystem="itp-warehouse",
                     SourceSystemVersion="0.1.0", Context="Other")
    if as_of is not None:
        odm.AsOfDateTime = as_of.replace(microsecond=0, tzinfo=None).isoformat()
    study = DEFINE.Study(OID=f"STUDY.{study_id}")
    study.GlobalVariables = DEFINE.GlobalVariables(
        StudyName=DEFINE.StudyName(_content=study_id),
        StudyDescription=DEFINE.StudyDescription(
            _content="Observational study of iguratimod in immune thrombocytopenia: ADaM datasets "
                     "of the published warehouse"),
        ProtocolName=DEFINE.ProtocolName(_content=study_id))
    mdv = DEFINE.MetaDataVersion(OID=f"MDV.{study_id}.ADAM", Name=f"{study_id} ADaM",
                                 Description="ADaM datasets (../shared/spec/adam.md v1)", DefineVersion="2.1.0")
    mdv.Standards = DEFINE.Standards(Standard=[
        DEFINE.Standard(OID=ADAMIG, Name="ADaMIG", Type="IG", Version="1.3", Status="Final")])
    methods: list = []
    codelists: list = []
    comments: list = []
    for order, w in enumerate(written, start=1):
        ds = w.dataset
        group = DEFINE.ItemGroupDef(
            OID=f"IG.{ds.name}", Name=ds.name, Repeating="No" if ds.name == "ADSL" else "Yes",
            IsReferenceData="No", SASDatasetName=ds.name, Purpose="Analysis", Structure=ds.structure,
            ArchiveLocationID=f"LF.{ds.name}", StandardOID=ADAMIG)
        group.Description = _text(ds.label)
        if w.comment:
            comment_oid = f"COM.{ds.name}"
            comments.append(DEFINE.CommentDef(OID=comment_oid, Description=_text(w.comment)))
            group.CommentOID = comment_oid
        present = [v for v in ds.variables if v.name in w.frame.columns]
        for i, v in enumerate(present, start=1):
            ref = DEFINE.ItemRef(ItemOID=f"IT.{ds.name}.{v.name}", Mandatory="Yes" if v.required else "No",
                                 OrderNumber=i)
            if v.name in ds.keys:
                ref.KeySequence = ds.keys.index(v.name) + 1
            if v.origin == "Derived":
                ref.MethodOID = f"MT.{ds.name}.{v.name}"
            group.ItemRef.append(ref)
            mdv.ItemDef.append(_item_def(ds, v, w.frame, methods, codelists))
        group.Class = DEFINE.Class(Name=ds.adam_class)
        if ds.subclass:
            group.Class.SubClass = [DEFINE.SubClass(Name=ds.subclass)]
        group.leaf = DEFINE.leaf(ID=f"LF.{ds.name}", href=w.file_name, title=DEFINE.title(_content=w.file_name))
        mdv.ItemGroupDef.append(group)
    for cl in codelists:
        mdv.CodeList.append(cl)
    for method in methods:
        mdv.MethodDef.append(method)
    mdv.CommentDef = comments
    study.MetaDataVersion = mdv
    odm.Study = study
    return odm


def validate_define(path: Path) -> None:
    """Against the Define-XML 2.1 XSD shipped in odmlib (odmlib/schemas/define/2.1)."""
    try:
        ODMSchemaValidator(standard="define", version="2.1").validate_file(str(path))
    except Exception as exc:  # odmlib wraps xmlschema's errors in its own exception types
        raise DefineError(f"{path.name} is not valid Define-XML 2.1: {exc}") from exc


def write_define(out: Path, study_id: str, written: list[WrittenDataset], as_of: datetime | None) -> tuple[Path, Path]:
    xml = out / "define.xml"
    build_define(study_id, written, as_of).write_xml(str(xml))
    validate_define(xml)
    html = out / "define.html"
    DefineHtml(xml).transform_to_html_file(html)
    if not html.exists() or html.stat().st_size == 0:
        raise DefineError("define.html could not be rendered from define.xml (define2-1.xsl)")
    return xml, html
