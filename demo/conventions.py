"""How each family of demo sites writes its files (encoding, delimiter, decimal mark, date
format, units, header aliases, file names), and the sites, drugs, adverse-event terms and names
the demo draws from.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date


COUNT_TESTS = ("PLT", "WBC", "NEUT", "LYMPH")
CHEMISTRY_TESTS = ("ALT", "AST", "TBIL", "CREAT", "UREA")


@dataclass(frozen=True)
class Convention:
    """How one family of sites writes its exports (site-exports.md §2, §4)."""
    kind: str                                  # PKUPH | RJH | WCH
    file_encoding: str                         # codec used to write the bytes
    encoding: str                              # as declared in sites.yaml
    delimiter: str
    decimal: str
    date_format: str
    xlsx_domains: frozenset[str]
    header_case: str                           # lower | upper | title
    aliases: Mapping[str, Mapping[str, str]]   # domain -> canonical column -> site header
    extra_columns: Mapping[str, tuple[tuple[str, str], ...]]  # domain -> (key, header): dropped at load
    missing: str                               # how an empty optional cell is written in CSV
    urea_code: str                             # UREA or BUN
    units: Mapping[str, str]                   # test code as sent -> unit as written
    decimals: Mapping[str, int]                # decimals of a value in the site's unit (<0: tens...)
    ranges: Mapping[str, Mapping[str, tuple[str, str]]]  # test -> sex -> (low, high), site unit
    missing_range_share: float
    drug_language: str                         # zh | en | upper
    ae_language: str                           # zh | en


def _same_for_both(ranges: dict[str, tuple[str, str] | dict[str, tuple[str, str]]]):
    return {t: (r if isinstance(r, dict) else {"F": r, "M": r}) for t, r in ranges.items()}


PKUPH_CONVENTION = Convention(
    kind="PKUPH", file_encoding="gb18030", encoding="gb18030", delimiter=",", decimal=".",
    date_format="%d.%m.%Y", xlsx_domains=frozenset(), header_case="lower",
    aliases={
        "subjects": {"sex": "性别", "birth_year": "出生年份", "diagnosis_date": "诊断日期",
                     "enrollment_date": "入组日期"},
        "labs": {"sample_date": "采样日期", "test_code": "检验项目", "value": "结果", "unit": "单位",
                 "ref_low": "参考下限", "ref_high": "参考上限"},
        "bleeding": {"assessment_date": "评估日期", "who_grade": "WHO出血分级"},
        "conmeds": {"drug_name": "药品名称", "start_date": "开始日期", "end_date": "结束日期",
                    "daily_dose": "日剂量", "dose_unit": "剂量单位"},
    },
    extra_columns={"subjects": (("patient_name", "姓名"), ("phone", "手机号"), ("record_no", "病案号"))},
    missing="NA", urea_code="UREA",
    units={"PLT": "10^9/L", "WBC": "10^9/L", "NEUT": "10^9/L", "LYMPH": "10^9/L", "HGB": "g/L",
           "ALT": "U/L", "AST": "U/L", "TBIL": "µmol/L", "CREAT": "µmol/L", "UREA": "mmol/L"},
    decimals={"PLT": 0, "WBC": 2, "NEUT": 2, "LYMPH": 2, "HGB": 0, "ALT": 0, "AST": 0, "TBIL": 1,
              "CREAT": 0, "UREA": 2},
    ranges=_same_for_both({
        "PLT": ("125", "350"), "WBC": ("3.5", "9.5"), "NEUT": ("1.8", "6.3"), "LYMPH": ("1.1", "3.2"),
        "HGB": {"F": ("115", "150"), "M": ("130", "175")},
        "ALT": {"F": ("7", "40"), "M": ("9", "50")}, "AST": {"F": ("13", "35"), "M": ("15", "40")},
        "TBIL": ("0", "23"), "CREAT": {"F": ("41", "81"), "M": ("57", "111")}, "UREA": ("3.1", "8.0"),
    }),
    missing_range_share=0.08, drug_language="zh", ae_language="zh",
)

RJH_CONVENTION = Convention(
    kind="RJH", file_encoding="utf-8", encoding="utf-8", delimiter=",", decimal=".",
    date_format="%Y-%m-%d", xlsx_domains=frozenset({"labs", "dosing"}), header_case="title",
    aliases={}, extra_columns={"disposition": (("comment", "comment"),)},
    missing="", urea_code="UREA",
    units={"PLT": "x10^9/L", "WBC": "x10^9/L", "NEUT": "10*9/L", "LYMPH": "10*9/L", "HGB": "g/L",
           "ALT": "IU/L", "AST": "IU/L", "TBIL": "umol/L", "CREAT": "umol/L", "UREA": "mmol/L"},
    decimals={"PLT": 0, "WBC": 2, "NEUT": 2, "LYMPH": 2, "HGB": 0, "ALT": 0, "AST": 0, "TBIL": 1,
              "CREAT": 0, "UREA": 2},
    ranges=_same_for_both({
        "PLT": ("100", "300"), "WBC": ("4.0", "10.0"), "NEUT": ("2.0", "7.0"), "LYMPH": ("0.8", "4.0"),
        "HGB": {"F": ("110", "150"), "M": ("120", "160")}, "ALT": ("5", "40"), "AST": ("8", "40"),
        "TBIL": ("3.4", "20.4"), "CREAT": {"F": ("44", "97"), "M": ("53", "115")}, "UREA": ("2.5", "7.1"),
    }),
    missing_range_share=0.05, drug_language="en", ae_language="en",
)

WCH_CONVENTION = Convention(
    kind="WCH", file_encoding="utf-8-sig", encoding="utf-8", delimiter=";", decimal=",",
    date_format="%d/%m/%Y", xlsx_domains=frozenset(), header_case="upper",
    aliases={}, extra_columns={"subjects": (("patient_name", "patient_name"), ("phone", "phone"))},
    missing="-", urea_code="BUN",
    units={"PLT": "/uL", "WBC": "/uL", "NEUT": "/uL", "LYMPH": "/uL", "HGB": "g/dL",
           "ALT": "U/L", "AST": "U/L", "TBIL": "mg/dL", "CREAT": "mg/dL", "BUN": "mg/dL"},
    decimals={"PLT": -3, "WBC": -1, "NEUT": -1, "LYMPH": -1, "HGB": 1, "ALT": 0, "AST": 0, "TBIL": 2,
              "CREAT": 2, "BUN": 1},
    ranges=_same_for_both({
        "PLT": ("125000", "350000"), "WBC": ("3500", "9500"), "NEUT": ("1800", "6300"),
        "LYMPH": ("1100", "3200"), "HGB": {"F": ("11.5", "15.0"), "M": ("13.0", "17.5")},
        "ALT": ("7", "40"), "AST": ("13", "35"), "TBIL": ("0.20", "1.20"),
        "CREAT": {"F": ("0.50", "1.10"), "M": ("0.60", "1.20")}, "BUN": ("7.0", "20.0"),
    }),
    missing_range_share=0.0, drug_language="upper", ae_language="en",
)

CONVENTIONS = (PKUPH_CONVENTION, RJH_CONVENTION, WCH_CONVENTION)


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    convention: Convention

    def registry_entry(self) -> dict[str, object]:
        c = self.convention
        entry: dict[str, object] = {"name": self.name, "encoding": c.encoding, "delimiter": c.delimiter,
                                    "decimal": c.decimal, "date_format": c.date_format}
        if c.aliases:
            entry["aliases"] = {d: dict(a) for d, a in c.aliases.items()}
        return entry

    def ext(self, domain: str) -> str:
        return "xlsx" if domain in self.convention.xlsx_domains else "csv"

    def file_name(self, domain: str, export_date: date) -> str:
        return f"{self.code}_{domain}_{export_date:%Y%m%d}.{self.ext(domain)}"


# The STUDYID of the generated cohort's ADaM datasets (../shared/spec/adam.md §1).
DEMO_STUDY_ID = "IGU-ITP-01"

CALIBRATED_SITES = (
    Site("PKUPH", "Peking University People's Hospital", PKUPH_CONVENTION),
    Site("RJH", "Ruijin Hospital, Shanghai Jiao Tong University School of Medicine", RJH_CONVENTION),
    Site("WCH", "West China Hospital, Sichuan University", WCH_CONVENTION),
)

# Drugs: generic key -> (class, English name, Chinese name or None, usual daily dose, lower, higher, unit)
@dataclass(frozen=True)
class Drug:
    key: str
    drug_class: str
    en: str
    zh: str | None
    dose: str
    lower: str | None
    higher: str | None
    unit: str

    def name(self, language: str) -> str:
        if language == "zh" and self.zh:
            return self.zh
        return self.en.upper() if language == "upper" else self.en


DRUGS = {d.key: d for d in (
    Drug("prednisone", "glucocorticoid", "Prednisone", "泼尼松", "15", "7.5", "30", "mg"),
    Drug("methylprednisolone", "glucocorticoid", "Methylprednisolone", None, "8", "4", "16", "mg"),
    Drug("dexamethasone", "glucocorticoid", "Dexamethasone", "地塞米松", "4", "2", "8", "mg"),
    Drug("rituximab", "rituximab", "Rituximab", "利妥昔单抗", "100", None, None, "mg"),
    Drug("eltrombopag", "tpo_ra", "Eltrombopag", "艾曲泊帕", "50", "25", "75", "mg"),
    Drug("avatrombopag", "tpo_ra", "Avatrombopag", None, "20", "10", "40", "mg"),
    Drug("hetrombopag", "tpo_ra", "Hetrombopag", "海曲泊帕", "5", "2.5", "7.5", "mg"),
    Drug("rhtpo", "tpo_ra", "rhTPO", "重组人血小板生成素", "15000", None, None, "U"),
    Drug("cyclosporine", "immunosuppressant", "Cyclosporine", "环孢素", "150", "100", "200", "mg"),
    Drug("ivig", "ivig", "IVIG", "静注人免疫球蛋白", "20", None, None, "g"),
    Drug("calcium", "other", "Calcium carbonate", "碳酸钙", "600", None, None, "mg"),
    Drug("omeprazole", "other", "Omeprazole", "奥美拉唑", "20", None, None, "mg"),
    Drug("warfarin", "other", "Warfarin", "华法林", "3", None, None, "mg"),
)}
DRUGS_BY_CLASS = {c: [d.key for d in DRUGS.values() if d.drug_class == c and d.key != "warfarin"]
                  for c in ("glucocorticoid", "rituximab", "tpo_ra", "immunosuppressant", "ivig", "other")}

AE_TERMS = {  # key -> (English, Chinese, usually related to iguratimod)
    "nausea": ("Nausea", "恶心", True), "rash": ("Rash", "皮疹", True),
    "uri": ("Upper respiratory tract infection", "上呼吸道感染", False),
    "abdominal_pain": ("Abdominal pain", "腹痛", True), "headache": ("Headache", "头痛", False),
    "fatigue": ("Fatigue", "乏力", False), "diarrhoea": ("Diarrhoea", "腹泻", True),
    "dizziness": ("Dizziness", "头晕", False), "pneumonia": ("Pneumonia", "肺炎", False),
}

SURNAMES = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
            ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
            ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
            ("罗", "Luo"), ("梁", "Liang"))
GIVEN_NAMES = {
    "F": (("秀英", "Xiuying"), ("桂英", "Guiying"), ("秀兰", "Xiulan"), ("玉兰", "Yulan"), ("丽娟", "Lijuan"),
          ("海燕", "Haiyan"), ("晓梅", "Xiaomei"), ("淑珍", "Shuzhen"), ("婷婷", "Tingting"), ("雪梅", "Xuemei")),
    "M": (("建华", "Jianhua"), ("志强", "Zhiqiang"), ("国强", "Guoqiang"), ("建国", "Jianguo"), ("晓明", "Xiaoming"),
          ("明辉", "Minghui"), ("振宇", "Zhenyu"), ("文斌", "Wenbin"), ("海涛", "Haitao"), ("永刚", "Yonggang")),
}
