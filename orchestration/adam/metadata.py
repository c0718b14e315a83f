"""The ADaM metadata, kept once in dbt_project/models/adam/_adam__models.yml (dbt documents
and tests the tables with it): dataset labels and classes, variable labels, types, origins,
formats and permitted values. The export reads the same file, never a copy in Python."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from sources.study_parameters import DBT_PROJECT_DIR

ADAM_MODELS_DIR = DBT_PROJECT_DIR / "models" / "adam"
DOC_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.S)
DOC_REF = re.compile(r"{{\s*doc\(\s*['\"](\w+)['\"]\s*\)\s*}}")


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str                   # Char | Num (ADaMIG)
    required: bool              # adam.md's `*`
    origin: str                 # Derived | Assigned | Predecessor
    description: str            # the derivation, as dbt documents it
    format: str | None = None   # SAS display format (DATE9. for dates)
    values: tuple[str, ...] = ()

    @property
    def is_date(self) -> bool:
        return (self.format or "").startswith("DATE")


@dataclass(frozen=True)
class Dataset:
    name: str                   # ADSL, ...: the SAS dataset name
    table: str                  # adam.adsl: the warehouse table
    label: str
    adam_class: str
    structure: str
    keys: tuple[str, ...]
    description: str
    variables: tuple[Variable, ...]
    subclass: str | None = None

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def file_stem(self) -> str:
        return self.name.lower()


def _docs(folder: Path) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for path in sorted(folder.glob("*.md")):
        for name, body in DOC_BLOCK.findall(path.read_text(encoding="utf-8")):
            blocks[name] = " ".join(body.split())
    return blocks


def _text(value: object, docs: dict[str, str]) -> str:
    text = str(value or "")
    return " ".join(DOC_REF.sub(lambda m: docs[m.group(1)], text).split())


def _meta(node: dict) -> dict:
    return (node.get("config") or {}).get("meta") or {}


@cache
def adam_datasets(folder: Path = ADAM_MODELS_DIR) -> tuple[Dataset, ...]:
    """Every ADaM dataset of the dbt project, in the yml's order."""
    docs = _docs(folder)
    out = []
    for path in sorted(folder.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            adam = _meta(model).get("adam")
            if not adam:
                continue
            variables = []
            for column in model.get("columns", []):
                meta = _meta(column)
                variables.append(Variable(
                    name=column["name"], label=meta["label"], type=meta["type"],
                    required=bool(meta.get("required", False)), origin=meta["origin"],
                    description=_text(column.get("description"), docs), format=meta.get("format"),
                    values=tuple(str(v) for v in meta.get("values", ())),
                ))
            out.append(Dataset(
                name=model["name"].upper(), table=f"adam.{model['name']}", label=adam["label"],
                adam_class=adam["class"], structure=adam["structure"], keys=tuple(adam["keys"]),
                description=_text(model.get("description"), docs), variables=tuple(variables),
                subclass=adam.get("subclass"),
            ))
    return tuple(out)
